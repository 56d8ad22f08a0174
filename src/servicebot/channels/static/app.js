/* The web chat page of the 凤凰办事处 FAQ bot.
 *
 * Plain ES2017 with no dependencies, so it runs in WeChat's in-app browser and older
 * Android WebViews (no optional chaining, no flex gap). Everything the bot says arrives as
 * JSON and is put on the page with textContent, never as HTML. The conversation is kept in
 * localStorage so it survives a reload; the session id (32 random hex digits) is the only
 * thing that identifies this browser to the bot, and the bot only stores a hash of it.
 *
 * 长辈模式 (the switch at the top; mode.js applies a stored choice before the page is drawn)
 * is a class on <html>: large text, large buttons, high contrast (style.css). Following the
 * MIIT guideline for elder-friendly sites, nothing pops up and nothing moves on its own: the
 * "clear history" question is asked in the page, not in a dialog, and waits for an answer.
 */
(function () {
  "use strict";

  var SESSION_KEY = "servicebot.session";
  var HISTORY_KEY = "servicebot.history";
  var INBOX_KEY = "servicebot.inbox";
  var ELDER_KEY = "servicebot.elder";
  var MAX_HISTORY = 200;
  var POLL_MS = 5000;
  var TEXT = {
    offline: "网络好像不通，请检查网络后再试。",
    failed: "抱歉，刚才出了点问题，请稍后再试。",
    busy: "正在查找答案……",
    newTab: "（在新窗口打开）",
    cleared: "聊天记录已清除。",
    notCleared: "聊天记录没有清除。",
    elderOn: "已打开长辈模式。",
    elderOff: "已关闭长辈模式。",
    me: "您",
    bot: "机器人",
    related: "您可能还想问",
    rate: "这个回答有帮助吗？"
  };

  var store = openStorage();
  var session = loadSession();
  var history = loadJson(HISTORY_KEY, []);
  var lastInbox = Number(store.getItem(INBOX_KEY) || 0);
  var busy = false;

  var logEl = document.getElementById("log");
  var form = document.getElementById("ask");
  var box = document.getElementById("q");
  var sendButton = document.getElementById("send");
  var statusEl = document.getElementById("status");
  var root = document.documentElement;
  var elderButton = document.getElementById("elder");
  var clearButton = document.getElementById("clear");
  var confirmBox = document.getElementById("confirm-clear");

  // --- storage ------------------------------------------------------------------------------

  function openStorage() {
    try {
      var probe = "servicebot.probe";
      window.localStorage.setItem(probe, probe);
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      var memory = {};
      return {
        getItem: function (k) { return Object.prototype.hasOwnProperty.call(memory, k) ? memory[k] : null; },
        setItem: function (k, v) { memory[k] = String(v); },
        removeItem: function (k) { delete memory[k]; }
      };
    }
  }

  function loadJson(key, fallback) {
    try {
      var value = JSON.parse(store.getItem(key) || "null");
      return Array.isArray(value) ? value : fallback;
    } catch (e) {
      return fallback;
    }
  }

  function newSession() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function loadSession() {
    var value = store.getItem(SESSION_KEY);
    if (!/^[0-9a-f]{32}$/.test(value || "")) {
      value = newSession();
      store.setItem(SESSION_KEY, value);
    }
    return value;
  }

  function save() {
    if (history.length > MAX_HISTORY) history = history.slice(history.length - MAX_HISTORY);
    try {
      store.setItem(HISTORY_KEY, JSON.stringify(history));
    } catch (e) { /* storage full: the page still works, the history just is not kept */ }
  }

  // --- drawing -------------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function label(node, text) {
    var hidden = el("span", "vh", text);
    node.appendChild(hidden);
  }

  function drawMine(entry) {
    var item = el("div", "msg me");
    label(item, TEXT.me + "：");
    item.appendChild(el("p", "body", entry.text));
    return item;
  }

  function drawNote(entry) {
    return el("p", "msg note", entry.text);
  }

  function drawBody(text) {
    // One paragraph per line, so that paragraphs can be spaced apart (more so in 长辈模式).
    var body = el("div", "body");
    text.split("\n").forEach(function (line) {
      if (line.trim()) body.appendChild(el("p", "", line));
    });
    return body;
  }

  function isTopicMenu(choices) {
    return choices.every(function (choice) { return choice.kind === "topic"; });
  }

  function drawBot(entry, index) {
    var m = entry.message || {};
    var item = el("article", "msg bot" + (entry.late ? " late" : ""));
    item.tabIndex = -1;
    label(item, TEXT.bot + "：");
    if (m.notice) item.appendChild(el("p", "notice", m.notice));
    if (m.title) item.appendChild(el("h2", "title", m.title));
    if (m.body) item.appendChild(drawBody(m.body));
    if (m.links && m.links.length) {
      var links = el("ul", "links");
      m.links.forEach(function (link) {
        if (!/^https?:\/\//i.test(link.url || "")) return;
        var li = el("li");
        var a = el("a", "", link.label);
        a.href = link.url;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        label(a, TEXT.newTab);
        li.appendChild(a);
        links.appendChild(li);
      });
      item.appendChild(links);
    }
    if (m.footer) item.appendChild(el("p", "source", m.footer));
    if (m.choices && m.choices.length) {
      var choices = el("div", isTopicMenu(m.choices) ? "choices topics" : "choices");
      choices.setAttribute("role", "group");
      choices.setAttribute("aria-label", m.title ? TEXT.related : (m.body || "").split("\n")[0]);
      m.choices.forEach(function (choice) {
        var button = el("button", "choice", choice.label);
        button.type = "button";
        button.setAttribute("data-tap", choice.data);
        choices.appendChild(button);
      });
      item.appendChild(choices);
    }
    if (m.feedback && m.feedback.length) {
      var rate = el("div", "feedback");
      rate.setAttribute("role", "group");
      rate.setAttribute("aria-label", TEXT.rate);
      rate.appendChild(el("span", "rate-label", TEXT.rate));
      m.feedback.forEach(function (choice) {
        var button = el("button", "rate", choice.label);
        button.type = "button";
        button.setAttribute("data-tap", choice.data);
        button.setAttribute("data-rate", String(index));
        button.setAttribute("aria-pressed", entry.rated === choice.data ? "true" : "false");
        rate.appendChild(button);
      });
      item.appendChild(rate);
    }
    return item;
  }

  function draw(entry, index) {
    if (entry.who === "me") return drawMine(entry);
    if (entry.who === "bot") return drawBot(entry, index);
    return drawNote(entry);
  }

  function add(entry) {
    history.push(entry);
    save();
    var node = draw(entry, history.length - 1);
    logEl.appendChild(node);
    return node;
  }

  function redraw() {
    while (logEl.firstChild) logEl.removeChild(logEl.firstChild);
    history.forEach(function (entry, index) { logEl.appendChild(draw(entry, index)); });
  }

  function elder() {
    return /(^|\s)elder(\s|$)/.test(root.className);
  }

  function show(node) {
    // No animation in 长辈模式: the page jumps to the new message rather than gliding.
    if (node && node.scrollIntoView) node.scrollIntoView({ block: "start", behavior: elder() ? "auto" : "smooth" });
  }

  function setStatus(text) {
    statusEl.textContent = text || "";
  }

  // --- talking to the bot ----------------------------------------------------------------------

  function post(path, body) {
    return window.fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (doc) {
        return { status: response.status, doc: doc };
      });
    });
  }

  function addAnswer(result) {
    var first = null;
    var doc = result.doc || {};
    if (result.status === 200) {
      (doc.messages || []).forEach(function (message) {
        var node = add({ who: "bot", message: message });
        first = first || node;
      });
      if (!first && doc.ack) first = add({ who: "note", text: doc.ack });
    } else {
      first = add({ who: "note", text: doc.message || TEXT.failed });
    }
    return first;
  }

  function run(path, body, mine, focusAnswer) {
    if (busy) return Promise.resolve();
    busy = true;
    sendButton.disabled = true;
    setStatus(TEXT.busy);
    var mineNode = mine ? add({ who: "me", text: mine }) : null;
    show(mineNode);
    return post(path, body).then(function (result) {
      var node = addAnswer(result);
      setStatus("");
      show(node);
      if (focusAnswer && node) node.focus({ preventScroll: true });
    }, function () {
      show(add({ who: "note", text: TEXT.offline }));
      setStatus("");
    }).then(function () {
      busy = false;
      sendButton.disabled = false;
    });
  }

  function ask(text) {
    return run("api/ask", { session: session, text: text }, text, false);
  }

  function rate(button) {
    var index = Number(button.getAttribute("data-rate"));
    var data = button.getAttribute("data-tap");
    post("api/tap", { session: session, data: data }).then(function (result) {
      var doc = result.doc || {};
      if (result.status !== 200) {
        setStatus(doc.message || TEXT.failed);
        return;
      }
      if (history[index]) {
        history[index].rated = data;
        save();
      }
      var group = button.parentNode;
      Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
      setStatus(doc.ack || "");
    }, function () { setStatus(TEXT.offline); });
  }

  function tap(button) {
    if (button.hasAttribute("data-rate")) {
      rate(button);
      return;
    }
    var data = button.getAttribute("data-tap");
    run("api/tap", { session: session, data: data }, button.textContent, true);
  }

  function welcome() {
    return window.fetch("api/welcome", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.json().then(function (doc) { return { status: response.status, doc: doc }; }); })
      .then(addAnswer, function () { add({ who: "note", text: TEXT.offline }); });
  }

  function poll() {
    if (busy || document.visibilityState === "hidden") return;
    post("api/inbox", { session: session, after: lastInbox }).then(function (result) {
      if (result.status !== 200) return;
      var node = null;
      (result.doc.messages || []).forEach(function (message) {
        lastInbox = Math.max(lastInbox, Number(message.id) || 0);
        node = node || add({ who: "bot", message: message, late: true });
      });
      store.setItem(INBOX_KEY, String(lastInbox));
      if (node) show(node);
    }, function () { /* offline: try again at the next tick */ });
  }

  // --- wiring ----------------------------------------------------------------------------------

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value.trim();
    if (!text || busy) return;
    box.value = "";
    grow();
    ask(text);
    box.focus();
  });

  box.addEventListener("keydown", function (event) {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME composition is not a send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  function grow() {
    box.style.height = "auto";
    box.style.height = Math.min(box.scrollHeight + 2, 160) + "px";
  }
  box.addEventListener("input", grow);

  logEl.addEventListener("click", function (event) {
    var target = event.target;
    while (target && target !== logEl && !(target.tagName === "BUTTON" && target.hasAttribute("data-tap"))) {
      target = target.parentNode;
    }
    if (target && target !== logEl) tap(target);
  });

  document.getElementById("browse").addEventListener("click", function () {
    run("api/tap", { session: session, data: "m" }, "浏览主题", true);
  });

  function setElder(on) {
    root.className = root.className.replace(/(^|\s)elder(?=\s|$)/g, "").replace(/^\s+|\s+$/g, "");
    if (on) root.className = (root.className ? root.className + " " : "") + "elder";
    elderButton.setAttribute("aria-pressed", on ? "true" : "false");
  }

  elderButton.addEventListener("click", function () {
    var on = !elder();
    setElder(on);
    try {
      store.setItem(ELDER_KEY, on ? "1" : "0");
    } catch (e) { /* storage full: the choice lasts until the page is closed */ }
    setStatus(on ? TEXT.elderOn : TEXT.elderOff);
  });

  function askToClear(open) {
    confirmBox.hidden = !open;
    clearButton.setAttribute("aria-expanded", open ? "true" : "false");
  }

  clearButton.addEventListener("click", function () {
    askToClear(confirmBox.hidden);
    if (!confirmBox.hidden) document.getElementById("confirm-text").focus();
  });

  document.getElementById("clear-no").addEventListener("click", function () {
    askToClear(false);
    clearButton.focus();
    setStatus(TEXT.notCleared);
  });

  document.getElementById("clear-yes").addEventListener("click", function () {
    askToClear(false);
    history = [];
    save();
    session = newSession();
    store.setItem(SESSION_KEY, session);
    lastInbox = 0;
    store.setItem(INBOX_KEY, "0");
    redraw();
    setStatus(TEXT.cleared);
    welcome();
    clearButton.focus();
  });

  document.addEventListener("visibilitychange", poll);

  setElder(elder());
  redraw();
  if (history.length) {
    show(logEl.lastChild);
  } else {
    welcome();
  }
  window.setInterval(poll, POLL_MS);
  poll();
})();
