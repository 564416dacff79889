// The comfortable/compact choice for paper cards, remembered in this browser (localStorage).
// Compact is the default; the button stays hidden without JavaScript.
(function () {
  "use strict";
  var KEY = "broadsheet-density";
  var root = document.documentElement;

  function stored() {
    try { return window.localStorage.getItem(KEY); } catch (e) { return null; }
  }
  function apply(value) {
    if (value === "comfortable") { root.dataset.density = value; } else { delete root.dataset.density; }
    document.querySelectorAll(".density-toggle").forEach(function (button) {
      var on = value === "comfortable";
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = on ? "Compact view" : "Comfortable view";
      button.hidden = false;
    });
    document.querySelectorAll(".card details.excerpt").forEach(function (details) {
      details.open = value === "comfortable";
    });
  }

  apply(stored());
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".density-toggle");
    if (!button) { return; }
    var next = root.dataset.density === "comfortable" ? "compact" : "comfortable";
    try { window.localStorage.setItem(KEY, next); } catch (e) { /* private mode: not kept */ }
    apply(next);
  });
})();
