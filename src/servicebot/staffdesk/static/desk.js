/* The staff desk's only script. Everything works without it except live updates:
   - short polling: every 3 s while the page is visible (15 s in a background tab), ask
     /desk/api/version what the tickets look like; when that changed, fetch the page again
     and swap in its parts marked data-live (the list, a ticket's thread), leaving the reply
     box alone (pages without such parts, the tools, are never fetched again); the tab's
     title counts the tickets waiting for a first reply;
   - signed out elsewhere (or the session ended): go to the sign-in page;
   - Ctrl+Enter sends a reply; a form's button is disabled once pressed (no double sends). */
(function () {
  "use strict";
  var body = document.body;
  var pollUrl = body.getAttribute("data-poll");
  var baseTitle = document.title;
  var VISIBLE = 3000, HIDDEN = 15000;
  var timer = null, busy = false;

  function countWaiting() {
    var list = document.getElementById("tickets");
    var waiting = list ? parseInt(list.getAttribute("data-waiting") || "0", 10) : 0;
    document.title = waiting > 0 ? "(" + waiting + ") " + baseTitle : baseTitle;
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, document.visibilityState === "hidden" ? HIDDEN : VISIBLE);
  }

  function redraw() {
    return fetch(location.pathname, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected || !response.ok) { location.reload(); return null; }
        return response.text();
      })
      .then(function (text) {
        if (text === null) return;
        var fresh = new DOMParser().parseFromString(text, "text/html");
        var parts = document.querySelectorAll("[data-live][id]");
        for (var i = 0; i < parts.length; i++) {
          var next = fresh.getElementById(parts[i].id);
          if (next) parts[i].replaceWith(document.importNode(next, true));
        }
        body.setAttribute("data-version", fresh.body.getAttribute("data-version") || "");
        countWaiting();
      });
  }

  function poll() {
    if (busy) { schedule(); return; }
    busy = true;
    fetch(pollUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 401) { location.href = "/desk/signin?m=expired"; return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        // Pages without live parts (the tools) only learn here that the session still holds.
        var live = document.querySelector("[data-live]");
        if (live && answer && answer.version && answer.version !== body.getAttribute("data-version")) return redraw();
      })
      .catch(function () { /* the network blinked: try again at the next tick */ })
      .then(function () { busy = false; schedule(); });
  }

  document.addEventListener("submit", function (event) {
    var buttons = event.target.querySelectorAll("button");
    setTimeout(function () { for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true; }, 0);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.tagName === "TEXTAREA") {
      var form = event.target.form;
      if (form) { event.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.submit(); }
    }
  });

  countWaiting();
  if (pollUrl) {
    schedule();
    document.addEventListener("visibilitychange", function () { if (document.visibilityState === "visible") poll(); });
  }
})();
