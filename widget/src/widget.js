/* RIS3 assistant chat widget. Embed with
   <script src="https://host/static/widget/widget.js" data-server="https://rasa-host" data-lang="fi|en"
           data-title="…" data-color="#005a8c" data-open="false" data-keep-hours="24"></script>
   Message text is only ever put in the page with textContent / text nodes, never as HTML, and no text becomes
   a link: links come only as the bot's structured quick replies ({"content_type": "url"}), which the server
   builds from the knowledge base, and only with the http, https and tel schemes.
   The Rasa session id, the shown history and unsent messages live in localStorage, so a reload or another
   page of the same site continues the conversation (the server side: bot/channels/web_chat.py). */
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || window.__ris3Widget) return;
  window.__ris3Widget = true;
  var base = me.src.replace(/[^/]*(\?.*)?$/, "");
  var attr = function (n, d) { var v = me.getAttribute("data-" + n); return v === null || v === "" ? d : v; };
  var server = attr("server", location.protocol + "//" + location.hostname + ":5005");
  var KEY = "ris3-widget:";
  // With storage blocked (some privacy settings) even reading window.localStorage throws: the widget then
  // works without keeping anything.
  function storage(name) { try { return window[name]; } catch (e) { return null; } }
  var localStorage = storage("localStorage"), sessionStorage = storage("sessionStorage");
  var store = {
    get: function (s, k, d) { try { var v = s.getItem(KEY + k); return v === null ? d : JSON.parse(v); } catch (e) { return d; } },
    set: function (s, k, v) { try { s.setItem(KEY + k, JSON.stringify(v)); } catch (e) { /* private mode */ } }
  };
  var LANGS = { fi: true, en: true };
  // The language button shows the other language's name in that language; its accessible name is that same
  // visible text (WCAG 2.5.3), so it has no aria-label.
  var T = {
    en: { open: "Open chat", close: "Close chat", title: "RIS3 assistant", input: "Your message", send: "Send",
      typing: "The assistant is typing…", offline: "Cannot reach the chat service. Reconnecting…",
      other: "Suomeksi", offer: "Switch the chat to English", noThanks: "No, thanks", log: "Conversation", you: "You", bot: "Assistant",
      failed: "The assistant could not handle that message. Please try again.",
      rateLimited: "Too many messages at once. Please wait {s} s and send your message again.",
      unsent: "Not sent", newTab: "(opens in a new tab)", links: "Links", unread: "{n} new",
      left: "{n} characters left", full: "Maximum length {max} characters",
      cut: "The pasted text was cut at {max} characters.", tooLong: "Too long: at most {max} characters.",
      hello: "Hello! Ask me about the Kymenlaakso smart specialisation strategy (RIS3)." },
    fi: { open: "Avaa chat", close: "Sulje chat", title: "RIS3-avustaja", input: "Viestisi", send: "Lähetä",
      typing: "Avustaja kirjoittaa…", offline: "Chat-palveluun ei saada yhteyttä. Yhdistetään uudelleen…",
      other: "In English", offer: "Vaihda chatin kieleksi suomi", noThanks: "Ei kiitos", log: "Keskustelu", you: "Sinä", bot: "Avustaja",
      failed: "Avustaja ei pystynyt käsittelemään viestiä. Yritä uudelleen.",
      rateLimited: "Liian monta viestiä kerralla. Odota {s} s ja lähetä viestisi uudelleen.",
      unsent: "Ei lähetetty", newTab: "(avautuu uuteen välilehteen)", links: "Linkit", unread: "{n} uutta",
      left: "{n} merkkiä jäljellä", full: "Enimmäispituus {max} merkkiä",
      cut: "Liitetty teksti katkaistiin {max} merkkiin.", tooLong: "Liian pitkä: enintään {max} merkkiä.",
      hello: "Hei! Kysy minulta Kymenlaakson älykkään erikoistumisen strategiasta (RIS3)." }
  };
  function say(key, values) {
    return T[lang][key].replace(/\{(\w+)\}/g, function (_, k) { return String(values[k]); });
  }
  // On a shared computer the next person should not find the conversation (which may hold a name and a
  // phone number): after data-keep-hours without activity (default 24) the browser forgets it.
  var keepHours = parseFloat(attr("keep-hours", "24"));
  var keepMs = (isFinite(keepHours) && keepHours > 0 ? keepHours : 24) * 3600000;
  var lastActive = store.get(localStorage, "active", 0);
  if (lastActive && Date.now() - lastActive > keepMs) {
    ["history", "session", "queue", "told", "active", "offered", "chosen"].forEach(function (k) {
      try { localStorage.removeItem(KEY + k); } catch (e) { /* no storage */ }
    });
  }
  var pageLang = (attr("lang", document.documentElement.lang || "fi")).slice(0, 2).toLowerCase();
  var lang = store.get(localStorage, "lang", pageLang === "en" ? "en" : "fi");
  if (!LANGS[lang]) lang = "fi";
  // The interface follows the conversation's language (an English writer on a Finnish page gets English
  // labels) until the user picks one with the language button; after that the switch is only offered, once.
  var chosen = store.get(localStorage, "chosen", false) === true;
  // The offer to switch: "" (not made yet in this conversation), "open" (shown), "done" (answered or dismissed).
  var offered = store.get(localStorage, "offered", "");
  var history = store.get(localStorage, "history", []);
  var sessionId = store.get(localStorage, "session", null);
  // Typed while offline and not yet sent: kept so that a reload does not lose them.
  var queue = store.get(localStorage, "queue", []);
  // Sent and not yet answered, oldest first ({text, entry}): the typing indicator stays while any is, and a
  // message the server refuses goes back into the input.
  var waiting = [];
  // The server's limit arrives in `chat_limits`; a server that does not send it gets the channels' default.
  var maxChars = 2000;
  var socket = null, typingTimer = null, statusTimer = null, pasteCut = false;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  var root = el("div", "ris3w");
  root.style.setProperty("--ris3w-accent", attr("color", "#005a8c"));
  var launcher = el("button", "ris3w-launcher");
  launcher.type = "button";
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "ris3w-panel");
  var panel = el("section", "ris3w-panel");
  panel.id = "ris3w-panel"; panel.hidden = true;
  panel.setAttribute("role", "dialog");
  var head = el("div", "ris3w-head");
  var title = el("h2", "ris3w-title"); title.id = "ris3w-title";
  panel.setAttribute("aria-labelledby", "ris3w-title");
  var langBtn = el("button", "ris3w-lang"); langBtn.type = "button";
  // The close button's name is its hidden text, not an aria-label: its visible "×" is a symbol, hidden from
  // screen readers, so name and visible label cannot disagree (WCAG 2.5.3).
  var closeBtn = el("button", "ris3w-close"); closeBtn.type = "button";
  var closeX = el("span", null, "×"); closeX.setAttribute("aria-hidden", "true");
  var closeName = el("span", "ris3w-sr");
  closeBtn.append(closeX, closeName);
  head.append(title, langBtn, closeBtn);
  var log = el("div", "ris3w-log");
  log.setAttribute("role", "log"); log.setAttribute("aria-live", "polite"); log.tabIndex = 0;
  // Offered once a conversation, when the bot answers in the other language than the one the user picked: one
  // press switches the interface too; "No, thanks", the next message or a switch by the language button ends
  // the offer for good.
  var offer = el("p", "ris3w-offer"); offer.hidden = true;
  var offerBtn = el("button", "ris3w-offer-btn"); offerBtn.type = "button";
  var offerNo = el("button", "ris3w-offer-no"); offerNo.type = "button";
  offer.append(offerBtn, offerNo);
  var typing = el("p", "ris3w-typing"); typing.hidden = true;
  typing.setAttribute("role", "status");
  var status = el("p", "ris3w-status"); status.hidden = true;
  status.setAttribute("role", "alert");
  // The length counter: shown near the limit; screen readers get its text when the user pauses typing.
  var count = el("p", "ris3w-count"); count.id = "ris3w-count"; count.hidden = true;
  count.setAttribute("aria-hidden", "true");
  var countSr = el("p", "ris3w-sr"); countSr.setAttribute("aria-live", "polite");
  var form = el("form", "ris3w-form");
  var label = el("label", "ris3w-sr"); label.htmlFor = "ris3w-input";
  var input = el("input", "ris3w-input"); input.id = "ris3w-input"; input.type = "text"; input.autocomplete = "off";
  input.dir = "auto";
  input.maxLength = maxChars;
  var send = el("button", "ris3w-send"); send.type = "submit";
  form.append(label, input, send);
  panel.append(head, log, offer, typing, status, count, countSr, form);
  root.append(panel, launcher);
  // The privacy notice and the menu's "Delete this conversation" (widget/src/privacy.js, bundled before this).
  var privacy = window.RIS3WidgetPrivacy ? window.RIS3WidgetPrivacy({
    el: el, safeHref: safeHref, lang: function () { return lang; },
    store: { get: function (k, d) { return store.get(localStorage, k, d); }, set: function (k, v) { store.set(localStorage, k, v); } },
    hasUserMessage: function () { return history.some(function (m) { return m.from === "user"; }); },
    sendPayload: function (payload) {
      if (!socket || !socket.connected || !sessionId) return false;
      busy(true);
      // A payload of the widget's own menu: sent as a button's, or the server would read it as typed words.
      socket.emit("user_uttered", { message: payload, session_id: sessionId, button: true, metadata: { language: lang } });
      return true;
    },
    status: function (text) { statusKey = null; status.hidden = false; status.textContent = text; },
    focusInput: function () { input.focus(); }
  }) : null;
  if (privacy) {
    head.insertBefore(privacy.head, closeBtn);
    privacy.aboveLog.forEach(function (n) { panel.insertBefore(n, log); });
  }

  // The newest answer in view: after a reload or on another page the panel opens (and its stylesheet, which
  // gives the log its height, may arrive after the messages) at the latest message, or at the start of the
  // latest answer when that is taller than the log, so that it is read from its first line. The log keeps
  // that place as it resizes (`stick`) until the user scrolls elsewhere.
  var unread = 0;
  var stick = true, mode = "end", placed = -1;
  function answerStart() {
    var boxes = log.querySelectorAll(".ris3w-msg"), first = null;
    for (var i = boxes.length - 1; i >= 0 && !boxes[i].classList.contains("ris3w-user"); i--) first = boxes[i];
    return first;
  }
  // Where the latest answer starts, when it does not fit below that point; else null (the end will do).
  function startOffset() {
    var start = answerStart();
    if (!start || !log.clientHeight) return null;
    var at = start.getBoundingClientRect().top - log.getBoundingClientRect().top + log.scrollTop - 8;
    return log.scrollHeight - at > log.clientHeight ? Math.max(0, Math.floor(at)) : null;
  }
  function scrollTo(at) {
    log.scrollTop = at === null ? log.scrollHeight : at;
    placed = log.scrollTop;
    stick = true;
  }
  function toEnd() { var at = startOffset(); mode = at === null ? "end" : "start"; scrollTo(at); }
  function keep() { if (stick) scrollTo(mode === "start" ? startOffset() : null); }
  log.addEventListener("scroll", function () {
    var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 8;
    if (atEnd && Math.abs(log.scrollTop - placed) >= 2) mode = "end";
    stick = atEnd || Math.abs(log.scrollTop - placed) < 2;
  });
  if (window.ResizeObserver) new ResizeObserver(keep).observe(log);

  var css = el("link"); css.rel = "stylesheet"; css.href = base + "widget.css";
  css.addEventListener("load", keep);
  document.head.appendChild(css);

  function texts() {
    var t = T[lang];
    root.lang = lang;
    title.textContent = attr("title", t.title);
    // A message that came while the panel was closed (the project manager's reply) shows on the button.
    launcher.textContent = panel.hidden ? t.open + (unread ? " (" + say("unread", { n: unread }) + ")" : "") : t.close;
    launcher.classList.toggle("ris3w-has-unread", panel.hidden && unread > 0);
    closeName.textContent = t.close;
    closeBtn.title = t.close;
    langBtn.textContent = t.other;
    langBtn.lang = lang === "fi" ? "en" : "fi";
    log.setAttribute("aria-label", t.log);
    label.textContent = t.input; input.placeholder = t.input;
    send.textContent = t.send;
    typing.textContent = t.typing;
    if (statusKey) status.textContent = say(statusKey, statusValues);
    // What the widget itself says inside the messages follows the interface language.
    log.querySelectorAll(".ris3w-who").forEach(function (s) { s.textContent = t[s.getAttribute("data-who")] + ": "; });
    log.querySelectorAll(".ris3w-unsent-note").forEach(function (s) { s.textContent = t.unsent; });
    log.querySelectorAll(".ris3w-newtab").forEach(function (s) { s.textContent = " " + t.newTab; });
    log.querySelectorAll(".ris3w-links").forEach(function (s) { s.setAttribute("aria-label", t.links); });
    counter();
    offerSwitch();
    if (privacy) privacy.texts();
  }

  // Bot text: "Source:"/"Lähde:" lines marked as the answer's source, phone numbers kept on one line. Nothing
  // becomes a link.
  var PHONE_RE = /\+\d{1,3}(?:[ \u00a0-]?\d{1,4}){2,5}|\b0\d{1,3}(?:[ \u00a0-]\d{2,4}){2,3}\b/g;
  function phones(parent, text) {
    var last = 0, m;
    PHONE_RE.lastIndex = 0;
    while ((m = PHONE_RE.exec(text))) {
      parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      parent.appendChild(el("span", "ris3w-nowrap", m[0]));
      last = m.index + m[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function richText(parent, text, fromBot) {
    String(text).split("\n").forEach(function (line, i) {
      if (i) parent.appendChild(document.createElement("br"));
      if (!fromBot) { parent.appendChild(document.createTextNode(line)); return; }
      var holder = /^\s*(Source|Lähde)\s*:/i.test(line) ? parent.appendChild(el("span", "ris3w-source")) : parent;
      phones(holder, line);
    });
  }

  // A link the bot sent as data: http(s) opens apart from the page, tel: calls; any other scheme is refused.
  function safeHref(url) {
    url = String(url || "").trim();
    var tel = /^tel:(.*)$/i.exec(url);
    if (tel) {
      var number = tel[1].replace(/[\s().-]|%20/g, "");
      return /^\+?\d{3,15}$/.test(number) ? "tel:" + number : null;
    }
    try {
      var u = new URL(url);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
    } catch (e) { return null; }
  }
  function links(parent, list) {
    var ul = el("ul", "ris3w-links");
    ul.setAttribute("aria-label", T[lang].links);
    list.forEach(function (l) {
      var href = safeHref(l.url);
      if (!href) return;
      var a = el("a", null, l.title || l.url.replace(/^tel:/i, ""));
      a.href = href;
      if (href.indexOf("tel:") !== 0) {
        a.target = "_blank"; a.rel = "noopener noreferrer";
        var hint = el("span", "ris3w-sr ris3w-newtab", " " + T[lang].newTab); hint.lang = lang;
        a.appendChild(hint);
      } else {
        a.className = "ris3w-nowrap";
      }
      ul.appendChild(el("li")).appendChild(a);
    });
    if (ul.childNodes.length) parent.appendChild(ul);
  }

  function render(msg, fresh) {
    var box = el("div", "ris3w-msg ris3w-" + msg.from);
    var who = msg.from === "user" ? "you" : "bot";
    var whoSpan = el("span", "ris3w-sr ris3w-who", T[lang][who] + ": ");
    whoSpan.setAttribute("data-who", who);
    box.appendChild(whoSpan);
    // The message in its own language (the bot's reply language as the server tells it, the interface's for
    // the widget's own texts; the user's own words are not labelled) and direction.
    var body = box.appendChild(el("div", "ris3w-body"));
    body.dir = "auto";
    if (msg.lang && LANGS[msg.lang]) body.lang = msg.lang;
    if (msg.text) richText(body, msg.text, msg.from === "bot");
    if (msg.from === "bot" && msg.links && msg.links.length) links(body, msg.links);
    if (msg.image && /^https?:/.test(msg.image)) {
      var img = el("img"); img.src = msg.image; img.alt = "";
      img.addEventListener("load", keep);
      body.appendChild(img);
    }
    if (msg.unsent) markUnsent(box);
    msg.box = box;
    log.appendChild(box);
    if (msg.buttons && msg.buttons.length && fresh) {
      var group = el("div", "ris3w-replies");
      group.setAttribute("role", "group");
      // "Did this answer your question?" names its Yes and No for a screen reader that lands on them.
      if (msg.feedback) { group.classList.add("ris3w-feedback"); group.setAttribute("aria-label", String(msg.text || "")); }
      if (msg.lang && LANGS[msg.lang]) group.lang = msg.lang;
      var pointer = "";
      group.addEventListener("pointerdown", function (e) { pointer = e.pointerType; });
      msg.buttons.forEach(function (b) {
        var btn = el("button", "ris3w-reply", b.title || b.payload);
        btn.type = "button";
        btn.addEventListener("click", function () {
          group.remove();
          user(b.title || b.payload, b.payload || b.title, !!b.payload);
          // The pressed button is gone: focus goes on to the input rather than to the page, except after a
          // touch, where focusing the input would pull up the on-screen keyboard.
          if (pointer === "touch") log.focus({ preventScroll: true }); else input.focus({ preventScroll: true });
        });
        group.appendChild(btn);
      });
      log.appendChild(group);
    }
    toEnd();
  }

  function markUnsent(box) {
    box.classList.add("ris3w-unsent");
    if (!box.querySelector(".ris3w-unsent-note")) box.appendChild(el("span", "ris3w-unsent-note", T[lang].unsent));
  }

  function save() {
    history = history.slice(-100);
    store.set(localStorage, "history", history.map(function (m) {
      var copy = {};
      Object.keys(m).forEach(function (k) { if (k !== "box") copy[k] = m[k]; });
      return copy;
    }));
  }

  // The question under an answer whether it helped (actions/feedback.py): its buttons' payloads say so.
  function isFeedback(buttons) {
    return buttons.length > 0 && buttons.every(function (b) { return /^\/answer_feedback\{/.test(String(b.payload || "")); });
  }

  function add(msg) {
    if (panel.hidden && msg.from === "bot") { unread += 1; texts(); }
    if (msg.from === "bot" && LANGS[msg.lang] && msg.lang !== lang) {
      if (!chosen) follow(msg.lang);
      else if (!offered) setOffered("open");
    }
    // The feedback question comes right after its answer: the answer's own buttons stay under it.
    if (!msg.feedback) log.querySelectorAll(".ris3w-replies").forEach(function (g) { g.remove(); });
    history.push(msg);
    save();
    store.set(localStorage, "active", Date.now());
    render(msg, true);
    offerSwitch();
    return msg;
  }

  function busy(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    // A reply that never comes (a message lost on the way) does not leave the indicator on for ever.
    if (on) typingTimer = setTimeout(function () { waiting = []; typing.hidden = true; }, 30000);
  }

  // A quick reply's payload is queued as {button: payload}: the server takes a payload only from a button,
  // and anything typed as the words it is, even when it begins with "/".
  function user(shown, payload, button) {
    if (offered === "open") setOffered("done");  // writing on is an answer to the offer too
    if (privacy) privacy.sent();
    var entry = add({ from: "user", text: shown });
    waiting.push({ text: shown, typed: shown === payload, entry: entry });
    busy(true);
    queue.push(button ? { button: payload } : payload);
    store.set(localStorage, "queue", queue);
    flush();
  }

  // One answer (or refusal) came for the oldest message waiting.
  function answered() {
    waiting.shift();
    busy(waiting.length > 0);
  }

  function flush() {
    if (!socket || !socket.connected || !sessionId) return;
    while (queue.length) {
      var item = queue.shift();
      var data = typeof item === "string" ? { message: item, session_id: sessionId }
        : { message: String(item.button), session_id: sessionId, button: true };
      // The interface language becomes the conversation's with a session's first message and after a
      // switch; in between, the language of what the user writes decides (server side).
      if (store.get(localStorage, "told", "") !== sessionId + ":" + lang) {
        data.metadata = { language: lang };
        store.set(localStorage, "told", sessionId + ":" + lang);
      }
      socket.emit("user_uttered", data);
    }
    store.set(localStorage, "queue", queue);
  }

  // The status line: what it says (a key of T, kept so that it follows a language switch), for how long.
  var statusKey = null, statusValues = {};
  function notice(key, values, seconds) {
    clearTimeout(statusTimer);
    statusKey = key; statusValues = values || {};
    status.hidden = !key;
    status.textContent = key ? say(key, statusValues) : "";
    if (key && seconds) statusTimer = setTimeout(function () { notice(null); }, seconds * 1000);
  }
  function offline(on) {
    if (on) notice("offline");
    else if (statusKey === "offline" || statusKey === "failed") notice(null);
  }

  // The server refused a message (too many at once, or it could not be handled): the newest message waiting
  // is marked as not sent and goes back into the input, unless the user is already typing another.
  function refused(error) {
    var retry = error && error.code === "rate_limited" ? Math.max(1, Math.ceil(Number(error.retry_after) || 1)) : 0;
    if (retry) notice("rateLimited", { s: retry }, retry); else notice("failed");
    var last = waiting.pop();
    busy(waiting.length > 0);
    if (!last) return;
    last.entry.unsent = true;
    save();
    if (last.entry.box) markUnsent(last.entry.box);
    if (!input.value && last.typed) { input.value = last.text; counter(); }
  }

  function counter() {
    var n = input.value.length, t = T[lang], text = "";
    if (pasteCut && n >= maxChars) text = say("cut", { max: maxChars });
    else if (n > maxChars) text = say("tooLong", { max: maxChars });
    else if (n >= maxChars) text = say("full", { max: maxChars });
    else if (n >= Math.floor(maxChars * 0.8)) text = t.left.replace("{n}", String(maxChars - n));
    count.hidden = !text;
    count.textContent = text;
    count.classList.toggle("ris3w-full", n >= maxChars);
    if (text) input.setAttribute("aria-describedby", "ris3w-count"); else input.removeAttribute("aria-describedby");
    clearTimeout(counter.timer);
    counter.timer = setTimeout(function () { countSr.textContent = text; }, 1000);
  }

  function offerSwitch() {
    var latest = null;
    for (var i = history.length - 1; i >= 0 && !latest; i--) if (history[i].from === "bot" && LANGS[history[i].lang]) latest = history[i].lang;
    var shown = !offer.hidden;
    offer.hidden = offered !== "open" || !latest || latest === lang;
    if (!offer.hidden) {
      offerBtn.textContent = T[latest].offer; offerBtn.lang = latest;
      offerNo.textContent = T[latest].noThanks; offerNo.lang = latest;
    }
    // The bar takes its height from the log: the latest message and its buttons stay in view above it.
    if (shown !== !offer.hidden && stick) scrollTo(mode === "start" ? startOffset() : null);
  }
  function setOffered(state) {
    offered = state;
    store.set(localStorage, "offered", state);
    offerSwitch();
  }

  // The conversation went on in the other language (the server says so with each reply): the interface
  // follows. The server already has that language, so it is not sent back as a switch.
  function follow(to) {
    lang = to;
    store.set(localStorage, "lang", lang);
    if (sessionId) store.set(localStorage, "told", sessionId + ":" + lang);
    texts();
  }

  function connect() {
    if (socket) return;
    if (!window.io) {
      var s = el("script"); s.src = base + "socket.io.min.js"; s.onload = connect;
      s.onerror = function () { offline(true); };
      document.head.appendChild(s);
      return;
    }
    socket = window.io(server, { transports: ["websocket"], reconnectionDelay: 1000, reconnectionDelayMax: 5000 });
    socket.on("connect", function () { socket.emit("session_request", { session_id: sessionId }); });
    socket.on("session_confirm", function (id) {
      sessionId = typeof id === "string" ? id : (id && id.session_id) || sessionId;
      store.set(localStorage, "session", sessionId);
      offline(false);
      flush();
    });
    socket.on("chat_limits", function (limits) {
      var n = limits && Number(limits.max_message_chars);
      if (n >= 1 && n === Math.floor(n)) { maxChars = n; input.maxLength = n; counter(); }
    });
    socket.on("chat_privacy", function (notice) { if (privacy) privacy.received(notice); });
    socket.on("connect_error", function () { offline(true); });
    socket.on("chat_error", refused);
    socket.on("disconnect", function (reason) {
      offline(true);
      if (reason === "io server disconnect") socket.connect();
    });
    socket.on("bot_uttered", function (m) {
      if (!m || typeof m !== "object") return;
      if (m.code === "rate_limited" || m.code === "message_too_long") {
        // The server's own words on why the newest message was not taken: shown, and that message kept.
        if (m.text) add(LANGS[m.lang] ? { from: "bot", text: String(m.text), lang: m.lang } : { from: "bot", text: String(m.text) });
        refused(m);
        return;
      }
      // A reply sent again after a page change (the server could not tell whether it arrived) is shown once.
      if (m.id && history.some(function (h) { return h.id === m.id; })) return;
      if (m.conversation_erased === true) { forget(String(m.text || ""), LANGS[m.lang] ? m.lang : lang); return; }
      answered();
      offline(false);
      var replies = m.quick_replies || m.buttons || [];
      var buttons = [], urls = [];
      replies.forEach(function (b) {
        if (!b || typeof b !== "object") return;
        if (b.content_type === "url" || (b.url && !b.payload)) urls.push({ title: String(b.title || ""), url: String(b.url || "") });
        else buttons.push({ title: b.title, payload: b.payload });
      });
      var image = m.attachment && m.attachment.payload && m.attachment.payload.src;
      var msg = { from: "bot", text: m.text || "", buttons: buttons, links: urls, image: image };
      if (LANGS[m.lang]) msg.lang = m.lang;
      if (m.id) msg.id = String(m.id);
      if (isFeedback(buttons)) msg.feedback = true;
      if (m.text || buttons.length || urls.length || image) add(msg);
    });
  }

  // The server erased the conversation at the user's request (docs/privacy.md): the browser forgets its copy
  // too, and a new session starts, so nothing of the erased conversation comes back on a reload.
  function forget(text, msgLang) {
    ["history", "session", "queue", "told", "active"].forEach(function (k) {
      try { localStorage.removeItem(KEY + k); } catch (e) { /* no storage */ }
    });
    history = []; queue = []; waiting = []; busy(false);
    sessionId = null;
    renderAll();
    if (text) add({ from: "bot", text: text, lang: msgLang });
    if (socket && socket.connected) socket.emit("session_request", { session_id: null });
    input.focus();
  }

  function open() {
    panel.hidden = false;
    root.classList.add("ris3w-open");
    unread = 0;
    launcher.setAttribute("aria-expanded", "true");
    store.set(sessionStorage, "open", true);
    texts();
    if (!history.length) greet();
    connect();
    toEnd();
    // On a phone the on-screen keyboard would cover half of the answer: the focus goes into the log, and
    // the keyboard comes when the user taps the input.
    if (small()) log.focus({ preventScroll: true }); else input.focus();
  }
  function small() {
    return !!(window.matchMedia && window.matchMedia("(max-width: 480px), (pointer: coarse)").matches);
  }

  // The greeting, with the topics of the knowledge base as suggested questions before the first message
  // (the back office serves them from knowledge/; without them the greeting stands alone).
  function greet() {
    var hello = add({ from: "bot", text: T[lang].hello, lang: lang, hello: true });
    if (!window.fetch) return;
    fetch(base + "topics.json?lang=" + lang, { credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        var buttons = (data && Array.isArray(data.buttons) ? data.buttons : []).filter(function (b) {
          return b && typeof b.title === "string" && typeof b.payload === "string" && b.payload.charAt(0) === "/";
        }).map(function (b) { return { title: b.title, payload: b.payload }; });
        // Only while the greeting is still the whole conversation.
        if (!buttons.length || history.length !== 1 || history[0] !== hello) return;
        hello.buttons = buttons;
        save();
        renderAll();
      })
      .catch(function () { /* no suggestions: the user types a question */ });
  }

  function close() {
    panel.hidden = true;
    root.classList.remove("ris3w-open");
    launcher.setAttribute("aria-expanded", "false");
    store.set(sessionStorage, "open", false);
    texts();
    launcher.focus();
  }

  // The user's own choice: kept (the interface no longer follows the conversation) and told to the server.
  function switchLanguage(to) {
    lang = to;
    chosen = true;
    store.set(localStorage, "lang", lang);
    store.set(localStorage, "chosen", true);
    if (offered === "open") setOffered("done");
    // Before the first message the greeting and its topics come again in the chosen language.
    if (history.length === 1 && history[0].hello) { history = []; log.textContent = ""; greet(); }
    texts();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeBtn.addEventListener("click", close);
  langBtn.addEventListener("click", function () { switchLanguage(lang === "fi" ? "en" : "fi"); });
  offerBtn.addEventListener("click", function () {
    switchLanguage(offerBtn.lang);
    input.focus();  // the pressed button is gone
  });
  offerNo.addEventListener("click", function () {
    setOffered("done");
    input.focus();
  });
  root.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !panel.hidden) { e.preventDefault(); close(); }
  });
  input.addEventListener("input", function () { if (input.value.length < maxChars) pasteCut = false; counter(); });
  input.addEventListener("paste", function (e) {
    var pasted = e.clipboardData ? e.clipboardData.getData("text") : "";
    var kept = input.value.length - ((input.selectionEnd || 0) - (input.selectionStart || 0));
    pasteCut = kept + pasted.length > maxChars;
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    // maxlength stops typing and pasting, not a value set by a script or autofill: such a text stays here.
    if (text.length > maxChars) { counter(); input.focus(); return; }
    input.value = "";
    pasteCut = false;
    counter();
    user(text, text);
  });

  function renderAll() {
    log.textContent = "";
    var last = history.length - 1;
    // The newest message's buttons, and its answer's when it is the feedback question.
    history.forEach(function (m, i) { render(m, i === last || (i === last - 1 && !!history[last].feedback)); });
    offerSwitch();
    toEnd();
  }
  // Another tab of the same site wrote the conversation: show it here too.
  window.addEventListener("storage", function (e) {
    if (e.key === KEY + "history") { history = store.get(localStorage, "history", []); renderAll(); }
    if (e.key === KEY + "session") sessionId = store.get(localStorage, "session", sessionId);
    // A language switch (or the conversation's) in another tab: this one follows without a reload.
    if (e.key === KEY + "lang" || e.key === KEY + "chosen" || e.key === KEY + "offered") {
      var to = store.get(localStorage, "lang", lang);
      if (LANGS[to]) lang = to;
      chosen = store.get(localStorage, "chosen", false) === true;
      offered = store.get(localStorage, "offered", "");
      texts();
    }
  });
  renderAll();
  texts();
  function mount() {
    document.body.appendChild(root);
    var wanted = store.get(sessionStorage, "open", attr("open", "false") === "true");
    if (wanted) {
      panel.hidden = false; root.classList.add("ris3w-open"); launcher.setAttribute("aria-expanded", "true");
      texts(); if (!history.length) greet(); connect();
    }
    // A page of an ongoing conversation connects even with the panel closed, so that a reply pushed to the
    // session (the project manager's) arrives while the page is open.
    else if (sessionId) connect();
    toEnd();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
