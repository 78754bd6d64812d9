// My holiday visits (节日走访慰问): a target marked on this phone and still waiting in the outbox
// shows "waiting to sync" instead of its button, so a leader offline sees what she has done
// (the page itself is the copy kept on the phone, from before the marks).
"use strict";
(function () {
  function markWaiting() {
    var outbox = window.WeiwangOutbox;
    if (!outbox || !outbox.all) return;
    outbox.all().then(function (records) {
      var waiting = {};
      records.forEach(function (r) {
        if (r.type === "holiday_visit" && r.data) waiting[String(r.data.target_id)] = true;
      });
      document.querySelectorAll("[data-holiday-target]").forEach(function (card) {
        if (!waiting[card.getAttribute("data-holiday-target")]) return;
        var note = card.querySelector("[data-holiday-waiting]");
        var form = card.querySelector("form[data-outbox-type]");
        if (note) note.hidden = false;
        if (form) form.hidden = true;
      });
    }).catch(function () { /* no outbox: nothing to show */ });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", markWaiting);
  else markWaiting();
})();
