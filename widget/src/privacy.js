/* The chat widget's privacy part (docs/privacy.md), bundled before widget.js, which calls it with what it needs.
   - The notice: what is kept, how long, who reads it and the privacy statement's link (only when staff have set
     one), as the server sends it (`chat_privacy`, from privacy.yml) in both languages; shown in the interface's
     language above the conversation until the first message, in a few lines that scroll with nothing else and
     can be closed, so that on a phone it never covers the input.
   - The menu (⋮): "Delete this conversation", confirmed in place; the erasure runs on the server (the same
     action as Telegram's /forget), and on its confirmation the widget forgets its own copy and starts anew.
   Text goes in with textContent only; the statement's link only with the http(s) scheme. */
window.RIS3WidgetPrivacy = function (w) {
  "use strict";
  var T = {
    en: { menu: "Menu", erase: "Delete this conversation", cancel: "Cancel", dismiss: "Close the notice",
      confirm: "Delete this conversation and any request for a person you sent from it? This cannot be undone.",
      statement: "Privacy statement", failed: "The conversation could not be deleted: no connection. Try again." },
    fi: { menu: "Valikko", erase: "Poista tämä keskustelu", cancel: "Peruuta", dismiss: "Sulje ilmoitus",
      confirm: "Poistetaanko tämä keskustelu ja siitä lähettämäsi yhteydenottopyyntö? Poistoa ei voi perua.",
      statement: "Tietosuojaseloste", failed: "Keskustelua ei voitu poistaa: ei yhteyttä. Yritä uudelleen." }
  };
  var el = w.el, data = null;

  // The notice, above the log.
  var notice = el("div", "ris3w-notice");
  notice.setAttribute("role", "note");
  notice.hidden = true;
  var noticeText = el("p", "ris3w-notice-text");
  var noticeLink = el("a", "ris3w-notice-link");
  noticeLink.target = "_blank"; noticeLink.rel = "noopener noreferrer";
  var noticeClose = el("button", "ris3w-notice-close"); noticeClose.type = "button";
  var noticeX = el("span", null, "×"); noticeX.setAttribute("aria-hidden", "true");
  var noticeName = el("span", "ris3w-sr");
  noticeClose.append(noticeX, noticeName);
  notice.append(noticeText, noticeLink, noticeClose);

  // The menu button in the head, and its one item.
  var menuBtn = el("button", "ris3w-menu-btn"); menuBtn.type = "button";
  menuBtn.setAttribute("aria-expanded", "false");
  menuBtn.setAttribute("aria-controls", "ris3w-menu");
  var menuDots = el("span", null, "⋮"); menuDots.setAttribute("aria-hidden", "true");
  var menuName = el("span", "ris3w-sr");
  menuBtn.append(menuDots, menuName);
  var menu = el("div", "ris3w-menu"); menu.id = "ris3w-menu"; menu.hidden = true;
  var eraseItem = el("button", "ris3w-menu-item"); eraseItem.type = "button";
  menu.appendChild(eraseItem);
  // The confirmation, in place (no dialog that a phone's keyboard or a screen reader could lose).
  var ask = el("div", "ris3w-confirm"); ask.hidden = true;
  ask.setAttribute("role", "group");
  var askText = el("p", "ris3w-confirm-text"); askText.id = "ris3w-confirm-text";
  ask.setAttribute("aria-labelledby", "ris3w-confirm-text");
  var askYes = el("button", "ris3w-confirm-yes"); askYes.type = "button";
  var askNo = el("button", "ris3w-confirm-no"); askNo.type = "button";
  ask.append(askText, askYes, askNo);

  function dismissed() { return w.store.get("privacy-seen", false); }
  function texts() {
    var lang = w.lang(), t = T[lang], s = data && data.texts && data.texts[lang];
    menuName.textContent = t.menu; menuBtn.title = t.menu;
    eraseItem.textContent = (s && s.erase) || t.erase;
    askText.textContent = t.confirm;
    askYes.textContent = (s && s.erase) || t.erase;
    askNo.textContent = t.cancel;
    noticeName.textContent = t.dismiss; noticeClose.title = t.dismiss;
    if (s) {
      noticeText.textContent = s.notice + " " + s.hint;
      var href = w.safeHref(data.statement_url);
      noticeLink.hidden = !(href && /^https?:/.test(href));
      if (!noticeLink.hidden) { noticeLink.href = href; noticeLink.textContent = s.statement || t.statement; }
      else noticeLink.removeAttribute("href");
    }
    notice.hidden = !s || dismissed() || w.hasUserMessage();
  }
  function closeMenu() { menu.hidden = true; menuBtn.setAttribute("aria-expanded", "false"); }

  menuBtn.addEventListener("click", function () {
    var opening = menu.hidden;
    menu.hidden = !opening; ask.hidden = true;
    menuBtn.setAttribute("aria-expanded", String(opening));
    if (opening) eraseItem.focus();
  });
  menu.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); closeMenu(); menuBtn.focus(); }
  });
  eraseItem.addEventListener("click", function () { closeMenu(); ask.hidden = false; askNo.focus(); });
  askNo.addEventListener("click", function () { ask.hidden = true; menuBtn.focus(); });
  askYes.addEventListener("click", function () {
    if (!w.sendPayload("/erase_conversation")) { w.status(T[w.lang()].failed); return; }
    ask.hidden = true;
  });
  noticeClose.addEventListener("click", function () {
    w.store.set("privacy-seen", true);
    notice.hidden = true;
    w.focusInput();
  });

  return {
    head: menuBtn,
    aboveLog: [menu, ask, notice],
    texts: texts,
    received: function (payload) { if (payload && typeof payload === "object" && payload.texts) { data = payload; texts(); } },
    // The user wrote: the notice has been seen.
    sent: function () { notice.hidden = true; }
  };
};
