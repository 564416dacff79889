// Search as you type: a progressive enhancement of the plain GET form. Fetches the results
// block 250 ms after the last keystroke, swaps it in, and keeps the URL shareable.
(function () {
  "use strict";
  var form = document.querySelector("form[data-live-search]");
  var box = document.getElementById("search-results");
  if (!form || !box || !window.fetch || !window.URLSearchParams) return;
  var timer = null;
  var latest = 0;

  function run() {
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) params.delete(k); });
    var url = form.action + (params.toString() ? "?" + params.toString() : "");
    var ticket = ++latest;
    params.set("partial", "1");
    fetch(form.action + "?" + params.toString(), { headers: { "X-Requested-With": "fetch" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (ticket !== latest) return;  // an older answer arriving late
        box.innerHTML = html;
        history.replaceState(null, "", url);
      })
      .catch(function () { /* the form still works by submitting */ });
  }

  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  });
})();
