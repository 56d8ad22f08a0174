/* 长辈模式 (large text, large buttons, high contrast), applied before the page is first drawn,
 * so a resident who chose it never sees small text first. The switch itself is in app.js; the
 * choice is kept in this browser (localStorage "servicebot.elder"), never sent to the bot. */
(function () {
  "use strict";
  try {
    if (window.localStorage.getItem("servicebot.elder") === "1") {
      document.documentElement.className += " elder";
    }
  } catch (e) { /* storage blocked: the page keeps its normal size */ }
})();
