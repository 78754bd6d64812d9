// The worklist (issue 13): after a visit is saved, a result card naming the household and 下一户,
// the next household in walking order (building, unit, floor, room) not visited this month and not
// waiting in the outbox. Works offline: the page comes from the service worker's copy of /worklist.
// Also: while a search is typed, the backup (B岗) grids open and empty floor headings step aside.
"use strict";
(function () {
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-worklist] [data-household-id]"));
  }

  function waitingVisits() {
    var outbox = window.WeiwangOutbox;
    if (!outbox || !outbox.all) return Promise.resolve({});
    return outbox.all().then(function (records) {
      var ids = {};
      records.forEach(function (r) { if (r.type === "visit" && r.data) ids[String(r.data.household_id)] = true; });
      return ids;
    }).catch(function () { return {}; });
  }

  function showResult() {
    var card = document.querySelector("[data-saved-card]");
    var saved = new URLSearchParams(window.location.search).get("saved");
    if (!card || !saved || !card.hidden) return;
    var all = rows();
    var index = all.map(function (r) { return r.getAttribute("data-household-id"); }).indexOf(saved);
    if (index < 0) return;
    waitingVisits().then(function (waiting) {
      all[index].setAttribute("data-visited", "1");
      card.querySelector("[data-saved-name]").textContent = all[index].getAttribute("data-name");
      var next = null;
      for (var i = 1; i < all.length && !next; i++) {
        var row = all[(index + i) % all.length];
        if (row.getAttribute("data-visited") !== "1" && !waiting[row.getAttribute("data-household-id")]) next = row;
      }
      var link = card.querySelector("[data-next-link]");
      if (next) {
        link.href = "/households/" + next.getAttribute("data-household-id") + "/visits/new";
        card.querySelector("[data-next-name]").textContent = next.getAttribute("data-name");
        var backup = next.closest("details");
        if (backup) backup.open = true;
      } else {
        link.hidden = true;
        card.querySelector("[data-all-done]").hidden = false;
      }
      card.hidden = false;
      // A reload later should not announce the same visit again.
      if (window.history.replaceState) window.history.replaceState(window.history.state, "", window.location.pathname);
    });
  }

  function afterFilter(input) {
    var query = input.value.trim();
    document.querySelectorAll("[data-backup-grids]").forEach(function (d) { if (query) d.open = true; });
    document.querySelectorAll("[data-floor-title]").forEach(function (title) {
      var list = title.nextElementSibling;
      var shown = list && list.querySelector("li:not([hidden])");
      title.hidden = !shown;
      if (list) list.hidden = !shown;
    });
  }

  document.addEventListener("input", function (event) {
    // outbox.js filters the rows on the same event; look after it has.
    if (event.target && event.target.id === "worklist-filter") setTimeout(function () { afterFilter(event.target); }, 0);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", showResult);
  else showResult();
  document.addEventListener("htmx:after:swap", showResult);
})();
