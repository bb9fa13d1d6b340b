/*!
 * dn-chat: the chat widget of the dry-needling FAQ assistant (Rasa socket.io channel).
 * One script tag on any page; options as data- attributes (see docs/widget.md):
 *
 *   <script src="https://YOUR-HOST/widget/dn-chat.js" defer
 *           data-server-url="https://assistant.example-clinic.ca"
 *           data-clinic-id="example_physio"
 *           data-clinic-name="Example Physiotherapy"
 *           data-primary-color="#1f6f5c"></script>
 *
 * Framework-free. Message text is only ever set with textContent, never parsed as HTML.
 */
(function () {
  "use strict";

  if (window.DnChat && window.DnChat.version) {
    return; // the snippet was pasted twice
  }

  var VERSION = "1.0.0";
  var SCRIPT = document.currentScript;
  var BASE = SCRIPT && SCRIPT.src ? SCRIPT.src.replace(/[^\/]*([?#].*)?$/, "") : "";

  var TEXT = {
    launcher: "Questions? Chat with us",
    title: "Questions about dry needling",
    placeholder: "Type your question",
    inputLabel: "Your question",
    send: "Send",
    close: "Close chat",
    conversation: "Conversation",
    choices: "Suggested questions",
    you: "You: ",
    assistant: "Assistant: ",
    typing: "The assistant is typing",
    offline: "Can't reach the assistant right now, retrying\u2026",
    refused: "The chat is not available on this page right now.",
    clinicError: "This chat is not set up correctly for this clinic, so it cannot answer. For the website's administrator: ",
    online: "Connected again.",
    noReply: "No answer yet. Please try again in a moment.",
    footer: "General information, not medical advice. In an emergency, call 911.",
    person: "The clinic team"
  };

  var MIN_TYPING_MS = 600; // the typing dots stay at least this long, so replies don't flash in
  var REPLY_TIMEOUT_MS = 30000;
  var MAX_STORED = 200;

  // ---------------------------------------------------------------- options

  function defaultServerUrl() {
    var host = location.hostname || "localhost";
    if (host.indexOf(":") >= 0) host = "[" + host + "]";
    return (location.protocol === "https:" ? "https:" : "http:") + "//" + host + ":5005";
  }

  function readOptions(el) {
    var d = (el && el.dataset) || {};
    return {
      serverUrl: d.serverUrl,
      socketPath: d.socketPath,
      clinicId: d.clinicId,
      clinicName: d.clinicName,
      title: d.title,
      primaryColor: d.primaryColor,
      primaryTextColor: d.primaryTextColor,
      initPayload: d.initPayload,
      storage: d.storage,
      open: d.open === "true",
      assetsUrl: d.assetsUrl
    };
  }

  function isColor(value) {
    return typeof value === "string" && value !== "" && window.CSS && CSS.supports
      ? CSS.supports("color", value)
      : false;
  }

  function normalise(raw) {
    raw = raw || {};
    var o = {
      serverUrl: (raw.serverUrl || defaultServerUrl()).replace(/\/+$/, ""),
      socketPath: raw.socketPath || "/socket.io/",
      clinicId: raw.clinicId || "",
      clinicName: raw.clinicName || "",
      title: raw.title || TEXT.title,
      primaryColor: isColor(raw.primaryColor) ? raw.primaryColor : "#0b5c8a",
      primaryTextColor: isColor(raw.primaryTextColor) ? raw.primaryTextColor : "#ffffff",
      initPayload: raw.initPayload === undefined ? "/greet" : raw.initPayload,
      storage: raw.storage === "session" ? "session" : "local",
      open: !!raw.open,
      assetsUrl: raw.assetsUrl || BASE
    };
    if (o.assetsUrl && o.assetsUrl.slice(-1) !== "/") o.assetsUrl += "/";
    return o;
  }

  // ---------------------------------------------------------------- helpers

  function el(tag, className, attrs) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (attrs) {
      for (var name in attrs) {
        if (Object.prototype.hasOwnProperty.call(attrs, name)) node.setAttribute(name, attrs[name]);
      }
    }
    return node;
  }

  function textEl(tag, className, text) {
    var node = el(tag, className);
    node.textContent = text; // text only: never HTML
    return node;
  }

  // Email addresses, phone numbers and web links in the assistant's messages
  // (a clinic's contact details) become links; everything else stays text.
  var LINKS = /(https?:\/\/[^\s<>"]+[^\s<>".,;:!?)])|([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})|(\+?1?[ .-]?\(?\b[2-9]\d{2}\)?[ .-]\d{3}[ .-]\d{4}\b)/g;

  function linkedTextEl(tag, className, text) {
    var node = el(tag, className);
    var last = 0;
    text.replace(LINKS, function (match, url, email, phone, offset) {
      node.appendChild(document.createTextNode(text.slice(last, offset)));
      var href = url ? url : email ? "mailto:" + email : "tel:" + phone.replace(/[^\d+]/g, "");
      var link = el("a", "dnc-link", { href: href });
      if (url) {
        link.setAttribute("target", "_blank");
        link.setAttribute("rel", "noopener noreferrer");
      }
      link.textContent = match; // text only: never HTML
      node.appendChild(link);
      last = offset + match.length;
      return match;
    });
    node.appendChild(document.createTextNode(text.slice(last)));
    return node;
  }

  function pickStorage(kind) {
    try {
      var s = kind === "session" ? window.sessionStorage : window.localStorage;
      var probe = "dn-chat:probe";
      s.setItem(probe, "1");
      s.removeItem(probe);
      return s;
    } catch (e) {
      var memory = {};
      return {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; },
        setItem: function (k, v) { memory[k] = String(v); },
        removeItem: function (k) { delete memory[k]; }
      };
    }
  }

  function loadSocketIo(src, done) {
    // Load our own socket.io client without replacing a window.io the page may have.
    var previous = window.io;
    var tag = el("script", "", { src: src, async: "" });
    tag.onload = function () {
      var ours = window.io;
      if (previous !== undefined) window.io = previous;
      else try { delete window.io; } catch (e) { window.io = undefined; }
      done(ours && ours !== previous ? ours : null);
    };
    tag.onerror = function () { done(null); };
    document.head.appendChild(tag);
  }

  // ---------------------------------------------------------------- widget

  function Widget(options) {
    this.o = options;
    this.store = pickStorage(options.storage);
    // One conversation per assistant and clinic: two clinics' pages on one site never share one.
    this.key = "dn-chat:" + options.serverUrl + (options.clinicId ? ":" + options.clinicId : "");
    this.state = this.load();
    this.pending = [];
    this.ready = false; // connected and in our session's room
    this.socket = null;
    this.io = null;
    this.botQueue = [];
    this.flushTimer = null;
    this.replyTimer = null;
    this.statusTimer = null;
    this.typingSince = 0;
    this.wasOffline = false;
    this.holding = false;
    this.holdTimer = null;
  }

  Widget.prototype.load = function () {
    try {
      var data = JSON.parse(this.store.getItem(this.key) || "null");
      if (data && Array.isArray(data.messages)) {
        return {
          sessionId: typeof data.sessionId === "string" ? data.sessionId : null,
          started: !!data.started || data.messages.length > 0,
          messages: data.messages
        };
      }
    } catch (e) { /* unreadable: start afresh */ }
    return { sessionId: null, started: false, messages: [] };
  };

  Widget.prototype.save = function () {
    var messages = this.state.messages.slice(-MAX_STORED);
    this.state.messages = messages;
    try {
      this.store.setItem(this.key, JSON.stringify({
        sessionId: this.state.sessionId,
        started: this.state.started,
        messages: messages
      }));
    } catch (e) { /* storage full or blocked: the conversation still works */ }
  };

  Widget.prototype.build = function () {
    var o = this.o;
    var host = el("div", "", { id: "dn-chat", "data-dn-chat": VERSION });
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    this.host = host;
    this.root = root;

    // Hidden until the stylesheet is in, so the page never shows it unstyled.
    host.style.display = "none";
    var css = el("link", "", { rel: "stylesheet", href: o.assetsUrl + "dn-chat.css" });
    var self = this;
    css.onload = css.onerror = function () {
      host.style.display = "";
      self.scrollDown();
    };
    root.appendChild(css);

    var wrap = el("div", "dnc");
    wrap.style.setProperty("--dnc-primary", o.primaryColor);
    wrap.style.setProperty("--dnc-on-primary", o.primaryTextColor);

    var name = o.clinicName ? o.clinicName : "us";
    this.launcher = el("button", "dnc-launcher", {
      type: "button",
      "aria-expanded": "false",
      "aria-controls": "dnc-panel",
      "aria-label": "Questions about dry needling? Chat with " + name
    });
    this.launcher.appendChild(el("span", "dnc-launcher-icon", { "aria-hidden": "true" }));
    this.launcher.appendChild(textEl("span", "dnc-launcher-text", TEXT.launcher));

    var panel = el("div", "dnc-panel", {
      id: "dnc-panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-labelledby": "dnc-title"
    });
    panel.hidden = true;
    this.panel = panel;

    var header = el("div", "dnc-header");
    var titles = el("div", "dnc-titles");
    titles.appendChild(textEl("h2", "dnc-title", o.title)).id = "dnc-title";
    if (o.clinicName) titles.appendChild(textEl("p", "dnc-subtitle", o.clinicName));
    header.appendChild(titles);
    this.closeButton = el("button", "dnc-close", { type: "button", "aria-label": TEXT.close });
    this.closeButton.appendChild(textEl("span", "", "\u00d7")).setAttribute("aria-hidden", "true");
    header.appendChild(this.closeButton);
    panel.appendChild(header);

    this.status = el("div", "dnc-status", { role: "status" });
    this.status.hidden = true;
    panel.appendChild(this.status);

    this.log = el("div", "dnc-log", { role: "region", "aria-label": TEXT.conversation, tabindex: "0" });
    this.typing = el("div", "dnc-typing", { "aria-hidden": "true" });
    this.typing.appendChild(el("span", "dnc-dot"));
    this.typing.appendChild(el("span", "dnc-dot"));
    this.typing.appendChild(el("span", "dnc-dot"));
    this.typing.appendChild(textEl("span", "dnc-sr-only", TEXT.typing));
    this.typing.hidden = true;
    this.log.appendChild(this.typing);
    panel.appendChild(this.log);

    // New bot messages are read out from here (restored history is not).
    this.announcer = el("div", "dnc-sr-only dnc-announcer", { "aria-live": "polite", "aria-atomic": "false" });
    panel.appendChild(this.announcer);

    var form = el("form", "dnc-form", { novalidate: "" });
    form.appendChild(textEl("label", "dnc-sr-only", TEXT.inputLabel)).setAttribute("for", "dnc-input");
    this.input = el("input", "dnc-input", {
      id: "dnc-input",
      type: "text",
      autocomplete: "off",
      maxlength: "500",
      enterkeyhint: "send",
      placeholder: TEXT.placeholder
    });
    form.appendChild(this.input);
    this.sendButton = el("button", "dnc-send", { type: "submit" });
    this.sendButton.textContent = TEXT.send;
    form.appendChild(this.sendButton);
    panel.appendChild(form);
    panel.appendChild(textEl("p", "dnc-footer", TEXT.footer));

    wrap.appendChild(this.launcher);
    wrap.appendChild(panel);
    root.appendChild(wrap);

    this.launcher.addEventListener("click", function () { self.open(true); });
    this.closeButton.addEventListener("click", function () { self.close(); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); self.close(); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = self.input.value.trim();
      if (!text) return;
      self.input.value = "";
      self.send(text, text);
    });

    for (var i = 0; i < this.state.messages.length; i++) this.render(this.state.messages[i], false);
    document.body.appendChild(host);
  };

  Widget.prototype.isOpen = function () { return !this.panel.hidden; };

  Widget.prototype.open = function (focus) {
    this.panel.hidden = false;
    this.launcher.hidden = true;
    this.launcher.setAttribute("aria-expanded", "true");
    try { window.sessionStorage.setItem(this.key + ":open", "1"); } catch (e) { /* ignore */ }
    this.scrollDown();
    if (focus) this.input.focus();
    this.connect();
  };

  Widget.prototype.close = function () {
    this.panel.hidden = true;
    this.launcher.hidden = false;
    this.launcher.setAttribute("aria-expanded", "false");
    try { window.sessionStorage.removeItem(this.key + ":open"); } catch (e) { /* ignore */ }
    this.launcher.focus();
  };

  // ------------------------------------------------------------ connection

  Widget.prototype.connect = function () {
    if (this.socket || this.connecting) return;
    this.connecting = true;
    var self = this;
    loadSocketIo(this.o.assetsUrl + "vendor/socket.io.min.js", function (io) {
      self.connecting = false;
      if (!io) {
        self.setStatus(TEXT.refused, "error");
        if (window.console) console.error("dn-chat: could not load " + self.o.assetsUrl + "vendor/socket.io.min.js");
        return;
      }
      self.io = io;
      self.openSocket();
    });
  };

  Widget.prototype.openSocket = function () {
    var self = this;
    var socket = this.io(this.o.serverUrl, {
      path: this.o.socketPath,
      transports: ["polling"], // the server offers long-polling only (see channels/socketio_cors.py)
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      timeout: 10000
    });
    this.socket = socket;

    socket.on("connect", function () {
      // The front desk's messages already shown: the server sends any others (written while the page was closed).
      var seen = [];
      self.state.messages.forEach(function (m) { if (m.frontdeskId) seen.push(m.frontdeskId); });
      socket.emit("session_request", { session_id: self.state.sessionId, frontdesk_seen: seen.slice(-200) });
    });

    socket.on("session_confirm", function (data) {
      var id = data && typeof data === "object" ? data.session_id : data;
      if (typeof id !== "string" || !id) return;
      self.state.sessionId = id;
      self.save();
      self.ready = true;
      if (self.wasOffline) {
        self.wasOffline = false;
        self.setStatus(TEXT.online, "ok", 4000);
      } else {
        self.setStatus(null);
      }
      if (!self.state.started) {
        // A new conversation: the opening payload gets the notice and the greeting,
        // before anything the patient typed while we were connecting.
        self.state.started = true;
        self.save();
        if (self.o.initPayload) {
          self.emitUser(self.o.initPayload);
          self.holding = true; // questions typed meanwhile go after the greeting
          self.holdTimer = setTimeout(function () { self.release(); }, 5000);
        }
      }
      if (!self.holding) self.flushPending();
    });

    socket.on("bot_uttered", function (message) { self.receive(message); });

    // The server does not serve the clinic named by data-clinic-id: say so, for the web person.
    socket.on("clinic_error", function (data) {
      var reason = (data && typeof data.error === "string") ? data.error : "unknown clinic";
      self.hideTyping();
      self.setStatus(TEXT.clinicError + reason + " (check data-clinic-id).", "error");
      if (window.console) console.error("dn-chat: " + reason + " (data-clinic-id=" + self.o.clinicId + ")");
    });

    socket.on("disconnect", function (reason) {
      self.ready = false;
      self.holding = false;
      self.hideTyping();
      if (reason === "io client disconnect") return;
      self.offline();
      if (reason === "io server disconnect") socket.connect(); // not retried automatically
    });

    socket.on("connect_error", function (error) {
      self.ready = false;
      self.hideTyping();
      if (socket.active) {
        self.offline(); // socket.io retries by itself
      } else {
        self.setStatus(TEXT.refused, "error");
        if (window.console) {
          console.error("dn-chat: the assistant at " + self.o.serverUrl + " refused this page (" +
            (error && error.message) + "). Is " + location.origin + " in its CORS_ORIGINS?");
        }
      }
    });
  };

  Widget.prototype.release = function () {
    clearTimeout(this.holdTimer);
    this.holding = false;
    this.flushPending();
  };

  Widget.prototype.flushPending = function () {
    if (!this.ready) return;
    var queued = this.pending;
    this.pending = [];
    for (var i = 0; i < queued.length; i++) this.emitUser(queued[i]);
  };

  Widget.prototype.offline = function () {
    this.wasOffline = true;
    this.setStatus(TEXT.offline, "error");
  };

  Widget.prototype.setStatus = function (text, kind, hideAfter) {
    clearTimeout(this.statusTimer);
    if (!text) {
      this.status.hidden = true;
      this.status.textContent = "";
      this.panel.removeAttribute("data-status");
      return;
    }
    if (this.status.textContent !== text) this.status.textContent = text;
    this.status.className = "dnc-status dnc-status--" + kind;
    this.status.hidden = false;
    this.panel.setAttribute("data-status", kind);
    var self = this;
    if (hideAfter) this.statusTimer = setTimeout(function () { self.setStatus(null); }, hideAfter);
  };

  // ------------------------------------------------------------- messages

  Widget.prototype.send = function (payload, shown) {
    this.disableChoices();
    this.add({ from: "user", text: shown });
    if (this.ready && !this.holding) {
      this.emitUser(payload);
    } else {
      this.pending.push(payload);
      this.connect();
    }
  };

  Widget.prototype.emitUser = function (payload) {
    var data = { message: payload, session_id: this.state.sessionId };
    if (this.o.clinicId) data.metadata = { clinic_id: this.o.clinicId }; // with every message
    this.socket.emit("user_uttered", data);
    this.showTyping();
  };

  Widget.prototype.receive = function (message) {
    if (!message || typeof message !== "object") return;
    if (this.holding) this.release();
    var person = message.frontdesk;
    if (person && typeof person === "object" && typeof person.text === "string" && typeof person.id === "string") {
      // A person at the clinic wrote this (live hand-off); shown once, with who wrote it.
      for (var k = 0; k < this.state.messages.length; k++) {
        if (this.state.messages[k].frontdeskId === person.id) return;
      }
      var from = typeof person.from === "string" ? person.from : "";
      this.botQueue.push({ from: "frontdesk", text: person.text, who: from, frontdeskId: person.id });
      this.scheduleFlush();
      return;
    }
    var text = typeof message.text === "string" ? message.text : "";
    var source = message.quick_replies || message.buttons || [];
    var buttons = [];
    if (Array.isArray(source)) {
      for (var i = 0; i < source.length; i++) {
        var b = source[i];
        if (b && typeof b.title === "string" && typeof b.payload === "string") {
          buttons.push({ title: b.title, payload: b.payload });
        }
      }
    }
    if (!text && !buttons.length) return; // images, custom payloads: not used by this assistant
    var entry = { from: "bot", text: text };
    if (buttons.length) entry.buttons = buttons;
    this.botQueue.push(entry);
    this.scheduleFlush();
  };

  Widget.prototype.scheduleFlush = function () {
    if (this.flushTimer) return;
    var wait = Math.max(0, this.typingSince + MIN_TYPING_MS - Date.now());
    var self = this;
    this.flushTimer = setTimeout(function () {
      self.flushTimer = null;
      var queue = self.botQueue;
      self.botQueue = [];
      self.hideTyping();
      for (var i = 0; i < queue.length; i++) {
        self.add(queue[i]);
        self.announce(queue[i].text);
      }
    }, wait);
  };

  Widget.prototype.add = function (entry) {
    this.state.messages.push(entry);
    this.save();
    this.render(entry, true);
  };

  Widget.prototype.render = function (entry, live) {
    var self = this;
    var person = entry.from === "frontdesk";
    var row = el("div", "dnc-msg dnc-msg--" + (entry.from === "user" ? "user" : "bot") + (person ? " dnc-msg--person" : ""));
    row.appendChild(textEl("span", "dnc-sr-only", entry.from === "user" ? TEXT.you : person ? "" : TEXT.assistant));
    if (person) row.appendChild(textEl("p", "dnc-who", (entry.who || TEXT.person) + ":"));
    if (person && entry.text) {
      row.appendChild(textEl("p", "dnc-text", entry.text)); // a person's words: text only
    } else if (entry.text) {
      // The patient's own words are only ever text; the assistant's contact details are links.
      row.appendChild(entry.from === "user" ? textEl("p", "dnc-text", entry.text) : linkedTextEl("p", "dnc-text", entry.text));
    }
    if (entry.buttons && entry.buttons.length) {
      var group = el("div", "dnc-choices", { role: "group", "aria-label": TEXT.choices });
      entry.buttons.forEach(function (choice) {
        var button = textEl("button", "dnc-choice", choice.title);
        button.type = "button";
        button.setAttribute("data-payload", choice.payload);
        button.disabled = !!entry.answered;
        button.addEventListener("click", function () {
          if (entry.answered) return;
          entry.answered = true;
          self.send(choice.payload, choice.title);
          self.input.focus();
        });
        group.appendChild(button);
      });
      row.appendChild(group);
    }
    this.log.insertBefore(row, this.typing);
    if (live) this.scrollDown();
  };

  Widget.prototype.disableChoices = function () {
    var changed = false;
    this.state.messages.forEach(function (m) {
      if (m.buttons && !m.answered) { m.answered = true; changed = true; }
    });
    if (changed) this.save();
    var buttons = this.log.querySelectorAll(".dnc-choice");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
  };

  Widget.prototype.announce = function (text) {
    if (!text) return;
    this.announcer.appendChild(textEl("p", "", TEXT.assistant + text));
    while (this.announcer.childNodes.length > 5) this.announcer.removeChild(this.announcer.firstChild);
  };

  Widget.prototype.showTyping = function () {
    this.typingSince = Date.now();
    this.typing.hidden = false;
    this.panel.setAttribute("aria-busy", "true");
    this.scrollDown();
    clearTimeout(this.replyTimer);
    var self = this;
    this.replyTimer = setTimeout(function () {
      if (!self.typing.hidden) {
        self.hideTyping();
        if (self.ready) self.setStatus(TEXT.noReply, "error", 8000);
      }
    }, REPLY_TIMEOUT_MS);
  };

  Widget.prototype.hideTyping = function () {
    clearTimeout(this.replyTimer);
    this.typing.hidden = true;
    this.panel.removeAttribute("aria-busy");
  };

  Widget.prototype.scrollDown = function () {
    this.log.scrollTop = this.log.scrollHeight;
  };

  // ---------------------------------------------------------------- start

  var instance = null;

  function init(rawOptions) {
    if (instance) return instance;
    var start = function () {
      instance = new Widget(normalise(rawOptions));
      instance.build();
      var wasOpen = false;
      try { wasOpen = window.sessionStorage.getItem(instance.key + ":open") === "1"; } catch (e) { /* ignore */ }
      if (instance.o.open || wasOpen) instance.open(false);
    };
    if (document.body) start();
    else document.addEventListener("DOMContentLoaded", start);
    return null;
  }

  window.DnChat = {
    version: VERSION,
    init: init,
    open: function () { if (instance) instance.open(true); },
    close: function () { if (instance) instance.close(); }
  };

  if (SCRIPT && SCRIPT.getAttribute("data-manual") !== "true") {
    init(readOptions(SCRIPT));
  }
})();
