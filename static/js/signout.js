// Signing out with records still in the outbox warns first. The outbox is IndexedDB
// "weiwang", store "outbox" (the offline work); no database or no store means nothing pending.
"use strict";
(function () {
  function countOutbox() {
    return new Promise(function (resolve) {
      if (!window.indexedDB) return resolve(0);
      var request;
      try { request = indexedDB.open("weiwang"); } catch (err) { return resolve(0); }
      request.onupgradeneeded = function () {
        // The database did not exist: abort so that merely looking does not create it.
        request.transaction.abort();
      };
      request.onerror = function (event) { if (event && event.preventDefault) event.preventDefault(); resolve(0); };
      request.onblocked = function () { resolve(0); };
      request.onsuccess = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("outbox")) { db.close(); return resolve(0); }
        try {
          var count = db.transaction("outbox", "readonly").objectStore("outbox").count();
          count.onsuccess = function () { db.close(); resolve(count.result || 0); };
          count.onerror = function () { db.close(); resolve(0); };
        } catch (err) { db.close(); resolve(0); }
      };
    });
  }

  function init() {
    var form = document.getElementById("signout-form");
    if (!form || form.dataset.bound) return;
    form.dataset.bound = "1";
    var box = document.getElementById("signout");
    var warning = document.getElementById("signout-warning");
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var pending = await countOutbox();
      if (pending > 0) {
        document.getElementById("signout-warning-text").textContent = box.dataset.msgPending.replace("%(n)s", pending);
        warning.hidden = false;
        warning.scrollIntoView({ block: "center" });
        return;
      }
      form.submit();  // submit() does not fire "submit" again
    });
    document.getElementById("signout-anyway").addEventListener("click", function () { form.submit(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
