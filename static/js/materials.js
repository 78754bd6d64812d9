// The materials library's search, in the page: it works offline, from the copy kept on the phone.
(function () {
  "use strict";
  function setUp() {
    var input = document.querySelector("[data-material-search]");
    if (!input || input.dataset.ready) return;
    input.dataset.ready = "1";
    var none = document.querySelector("[data-material-none]");
    input.addEventListener("input", function () {
      var words = input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      document.querySelectorAll("#materials li[data-search]").forEach(function (item) {
        var text = item.getAttribute("data-search");
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        item.hidden = !match;
        if (match) shown += 1;
      });
      if (none) none.hidden = shown !== 0;
    });
  }
  // The PDF picker is a big button (the native control says "Choose File" in English on some
  // phones): once a file is picked, the button names it.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-pdf-input]")) return;
    var text = document.getElementById(input.getAttribute("data-pdf-label"));
    if (text && input.files && input.files[0]) text.textContent = input.files[0].name;
  });
  document.addEventListener("DOMContentLoaded", setUp);
  document.addEventListener("htmx:after:swap", setUp);
  setUp();
})();
