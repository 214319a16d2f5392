/* RIS3 assistant chat widget. Embed with
   <script src="https://host/static/widget/widget.js" data-server="https://rasa-host" data-lang="fi|en"
           data-title="…" data-color="#005a8c" data-open="false" data-keep-hours="24"></script>
   Message text is only ever put in the page with textContent / text nodes, never as HTML.
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
  var T = {
    en: { open: "Open chat", close: "Close chat", title: "RIS3 assistant", input: "Your message", send: "Send",
      typing: "The assistant is typing…", offline: "Cannot reach the chat service. Reconnecting…",
      other: "Suomeksi", otherLabel: "Vaihda kieli suomeksi", log: "Conversation", you: "You", bot: "Assistant",
      failed: "The assistant could not handle that message. Please try again.",
      hello: "Hello! Ask me about the Kymenlaakso smart specialisation strategy (RIS3)." },
    fi: { open: "Avaa chat", close: "Sulje chat", title: "RIS3-avustaja", input: "Viestisi", send: "Lähetä",
      typing: "Avustaja kirjoittaa…", offline: "Chat-palveluun ei saada yhteyttä. Yhdistetään uudelleen…",
      other: "In English", otherLabel: "Switch language to English", log: "Keskustelu", you: "Sinä", bot: "Avustaja",
      failed: "Avustaja ei pystynyt käsittelemään viestiä. Yritä uudelleen.",
      hello: "Hei! Kysy minulta Kymenlaakson älykkään erikoistumisen strategiasta (RIS3)." }
  };
  // On a shared computer the next person should not find the conversation (which may hold a name and a
  // phone number): after data-keep-hours without activity (default 24) the browser forgets it.
  var keepHours = parseFloat(attr("keep-hours", "24"));
  var keepMs = (isFinite(keepHours) && keepHours > 0 ? keepHours : 24) * 3600000;
  var lastActive = store.get(localStorage, "active", 0);
  if (lastActive && Date.now() - lastActive > keepMs) {
    ["history", "session", "queue", "told", "active"].forEach(function (k) {
      try { localStorage.removeItem(KEY + k); } catch (e) { /* no storage */ }
    });
  }
  var pageLang = (attr("lang", document.documentElement.lang || "fi")).slice(0, 2).toLowerCase();
  var lang = store.get(localStorage, "lang", pageLang === "en" ? "en" : "fi");
  var history = store.get(localStorage, "history", []);
  var sessionId = store.get(localStorage, "session", null);
  // Typed while offline and not yet sent: kept so that a reload does not lose them.
  var queue = store.get(localStorage, "queue", []);
  var socket = null, typingTimer = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  var css = el("link"); css.rel = "stylesheet"; css.href = base + "widget.css";
  document.head.appendChild(css);

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
  var closeBtn = el("button", "ris3w-close", "×"); closeBtn.type = "button";
  head.append(title, langBtn, closeBtn);
  var log = el("div", "ris3w-log");
  log.setAttribute("role", "log"); log.setAttribute("aria-live", "polite"); log.tabIndex = 0;
  var typing = el("p", "ris3w-typing"); typing.hidden = true;
  typing.setAttribute("role", "status");
  var status = el("p", "ris3w-status"); status.hidden = true;
  status.setAttribute("role", "alert");
  var form = el("form", "ris3w-form");
  var label = el("label", "ris3w-sr"); label.htmlFor = "ris3w-input";
  var input = el("input", "ris3w-input"); input.id = "ris3w-input"; input.type = "text"; input.autocomplete = "off";
  input.maxLength = 1000;
  var send = el("button", "ris3w-send"); send.type = "submit";
  form.append(label, input, send);
  panel.append(head, log, typing, status, form);
  root.append(panel, launcher);

  function texts() {
    var t = T[lang];
    root.lang = lang;
    title.textContent = attr("title", t.title);
    launcher.textContent = panel.hidden ? t.open : t.close;
    launcher.setAttribute("aria-label", launcher.textContent);
    closeBtn.setAttribute("aria-label", t.close);
    closeBtn.title = t.close;
    langBtn.textContent = t.other; langBtn.setAttribute("aria-label", t.otherLabel);
    langBtn.lang = lang === "fi" ? "en" : "fi";
    log.setAttribute("aria-label", t.log);
    label.textContent = t.input; input.placeholder = t.input;
    send.textContent = t.send;
    typing.textContent = t.typing;
    if (!status.hidden) status.textContent = socket && socket.connected ? t.failed : t.offline;
  }

  // Text with http(s) links made clickable; "Source:"/"Lähde:" lines marked as the answer's source.
  var URL_RE = /https?:\/\/[^\s<>"]+/g;
  function richText(parent, text) {
    String(text).split("\n").forEach(function (line, i) {
      if (i) parent.appendChild(document.createElement("br"));
      var holder = /^\s*(Source|Lähde)\s*:/i.test(line) ? parent.appendChild(el("span", "ris3w-source")) : parent;
      var last = 0, m;
      URL_RE.lastIndex = 0;
      while ((m = URL_RE.exec(line))) {
        var url = m[0].replace(/[.,;:!?)\]]+$/, "");
        holder.appendChild(document.createTextNode(line.slice(last, m.index)));
        var a = el("a", null, url);
        a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer";
        holder.appendChild(a);
        last = m.index + url.length;
        URL_RE.lastIndex = last;
      }
      holder.appendChild(document.createTextNode(line.slice(last)));
    });
  }

  function render(msg, fresh) {
    var box = el("div", "ris3w-msg ris3w-" + msg.from);
    box.appendChild(el("span", "ris3w-sr", T[lang][msg.from === "user" ? "you" : "bot"] + ": "));
    if (msg.text) richText(box, msg.text);
    if (msg.image && /^https?:/.test(msg.image)) {
      var img = el("img"); img.src = msg.image; img.alt = ""; box.appendChild(img);
    }
    log.appendChild(box);
    if (msg.buttons && msg.buttons.length && fresh) {
      var group = el("div", "ris3w-replies");
      group.setAttribute("role", "group");
      msg.buttons.forEach(function (b) {
        var btn = el("button", "ris3w-reply", b.title || b.payload);
        btn.type = "button";
        btn.addEventListener("click", function () {
          group.remove();
          user(b.title || b.payload, b.payload || b.title);
        });
        group.appendChild(btn);
      });
      log.appendChild(group);
    }
    log.scrollTop = log.scrollHeight;
  }

  function add(msg) {
    log.querySelectorAll(".ris3w-replies").forEach(function (g) { g.remove(); });
    history.push(msg);
    history = history.slice(-100);
    store.set(localStorage, "history", history);
    store.set(localStorage, "active", Date.now());
    render(msg, true);
  }

  function user(shown, payload) {
    add({ from: "user", text: shown });
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typing.hidden = true; }, 30000);
    queue.push(payload);
    store.set(localStorage, "queue", queue);
    flush();
  }

  function flush() {
    if (!socket || !socket.connected || !sessionId) return;
    while (queue.length) {
      var data = { message: queue.shift(), session_id: sessionId };
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

  function notice(text) {
    status.hidden = !text;
    status.textContent = text || "";
    if (text) typing.hidden = true;
  }
  function offline(on) { notice(on ? T[lang].offline : ""); }

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
    socket.on("connect_error", function () { offline(true); });
    socket.on("chat_error", function () { notice(T[lang].failed); });
    socket.on("disconnect", function (reason) {
      offline(true);
      if (reason === "io server disconnect") socket.connect();
    });
    socket.on("bot_uttered", function (m) {
      clearTimeout(typingTimer);
      typing.hidden = true;
      offline(false);
      var buttons = (m.quick_replies || m.buttons || []).map(function (b) { return { title: b.title, payload: b.payload }; });
      var image = m.attachment && m.attachment.payload && m.attachment.payload.src;
      if (m.text || buttons.length || image) add({ from: "bot", text: m.text || "", buttons: buttons, image: image });
    });
  }

  function open() {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    store.set(sessionStorage, "open", true);
    texts();
    if (!history.length) add({ from: "bot", text: T[lang].hello });
    connect();
    log.scrollTop = log.scrollHeight;
    input.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    store.set(sessionStorage, "open", false);
    texts();
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else close(); });
  closeBtn.addEventListener("click", close);
  langBtn.addEventListener("click", function () {
    lang = lang === "fi" ? "en" : "fi";
    store.set(localStorage, "lang", lang);
    texts();
  });
  root.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !panel.hidden) { e.preventDefault(); close(); }
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    user(text, text);
  });

  function renderAll() {
    log.textContent = "";
    history.forEach(function (m, i) { render(m, i === history.length - 1); });
  }
  // Another tab of the same site wrote the conversation: show it here too.
  window.addEventListener("storage", function (e) {
    if (e.key === KEY + "history") { history = store.get(localStorage, "history", []); renderAll(); }
    if (e.key === KEY + "session") sessionId = store.get(localStorage, "session", sessionId);
  });
  renderAll();
  texts();
  function mount() {
    document.body.appendChild(root);
    var wanted = store.get(sessionStorage, "open", attr("open", "false") === "true");
    if (wanted) { panel.hidden = false; launcher.setAttribute("aria-expanded", "true"); texts(); connect(); }
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
