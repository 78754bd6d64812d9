// Offline-capable forms, the outbox badge and page, and when to sync.
//
// MAKING A FORM OFFLINE-CAPABLE (any area: visits, the ledger's issues, patrols):
//   <form method="post" action="/no-js/fallback" hx-boost="false"
//         data-outbox-type="visit"              the record type registered in server/sync/registry.py
//         data-outbox-title="走访 · 3栋201"      how the record is named on the outbox page
//         data-outbox-done="/worklist"          where to go once saved or sent (alias: data-outbox-redirect;
//                                               none: stay, reset the form)
//         data-outbox-ints="household_id"       fields sent as numbers
//         data-outbox-lists="needs policies"    fields always sent as arrays (checkbox groups)
//         data-outbox-bools="fixed">            fields sent as true/false ("true", "on", "1" are true)
//     ...fields (names = the type's data fields; names starting with "_" are not sent)...
//     <input type="file" name="photos" accept="image/*" capture="environment" multiple data-outbox-photos>
//     <div data-outbox-message hidden></div>   where messages go (else the page's #status-bar)
//   </form>
// On submit this script (not htmx, not the browser) builds {id: crypto.randomUUID(), type,
// created_at: now with the phone's UTC offset, data} — the id is made at submit time, never in
// the HTML, because a cached form is reused for many records. The record is written to
// IndexedDB first, then sent to POST /api/sync:
//   created/duplicate  → removed from the phone (after its photos), "Saved." and go to done;
//   rejected           → kept aside on the phone; the messages go beside the fields
//                        (the element named like the field, its .field wrapper gets .field-error);
//                        submitting again replaces the same record (same id);
//   no network         → kept; "Saved on this phone; it will sync when you are online." and go to done;
//   5xx                → kept; "The server had a fault... kept, sent again later" (not "no signal");
//   401                → kept; the status bar asks to sign in again. Nothing is ever dropped.
// Empty values are left out, so optional fields fall back to the schema's defaults.
// Opening the form URL with ?outbox=<id> loads that waiting record for editing.
// Photos are shrunk by WeiwangOutbox.shrinkPhoto (outbox-core.js: at most 1600 px and 300 KB JPEG,
// the one shrink of every form) and uploaded one by one to PUT /api/photos/<uuid> after their
// record is stored; a photo the server refuses is kept aside with its reason ("refused").
//
// The outbox page names each record by its kind (data-kind-<type> in #outbox-text), its subject
// (the form's data-outbox-title) and the time in the app's format; a page with [data-outbox-banner]
// (the worklist, the staff home) lists records set aside with what to fix.
// Words shown come from #outbox-text (templates/sync/_outbox_text.html), in the page's language.
// Sync runs on page load, on "online", after any htmx request, every minute while records wait,
// on the "sync now" button ([data-outbox-sync]) and from the service worker (Background Sync).
"use strict";
(function () {
  var Outbox = window.WeiwangOutbox;
  if (!Outbox || !window.indexedDB) return;

  var SEND_TIMEOUT = 12000;

  function text(key) {
    var el = document.getElementById("outbox-text");
    var attr = "data-" + key.replace(/[A-Z]/g, function (c) { return "-" + c.toLowerCase(); });
    return (el && el.getAttribute(attr)) || key;
  }

  function words(form, attr) {
    return (form.getAttribute(attr) || "").split(/\s+/).filter(Boolean);
  }

  function statusBar(message, kind, link) {
    var bar = document.getElementById("status-bar");
    if (!bar) return;
    bar.textContent = "";
    if (!message) { bar.hidden = true; return; }
    bar.appendChild(document.createTextNode(message + " "));
    if (link) {
      var a = document.createElement("a");
      a.href = link.href; a.textContent = link.text;
      bar.appendChild(a);
    }
    bar.className = "status-bar" + (kind ? " status-" + kind : "");
    bar.hidden = false;
  }

  function flash(message, kind) {
    try { sessionStorage.setItem("outbox-flash", JSON.stringify({ message: message, kind: kind })); } catch (e) { /* private mode */ }
  }

  function showFlash() {
    var raw = null;
    try { raw = sessionStorage.getItem("outbox-flash"); sessionStorage.removeItem("outbox-flash"); } catch (e) { /* ignore */ }
    if (raw) { var f = JSON.parse(raw); statusBar(f.message, f.kind); }
  }

  // ---- building a record from a form ----

  function formData(form) {
    var ints = words(form, "data-outbox-ints");
    var lists = words(form, "data-outbox-lists");
    var bools = words(form, "data-outbox-bools");
    var data = {};
    lists.forEach(function (name) { data[name] = []; });
    new FormData(form).forEach(function (value, name) {
      if (name.charAt(0) === "_" || typeof value !== "string") return;
      value = value.trim();
      if (value === "") return;
      if (ints.indexOf(name) >= 0) value = /^-?\d+$/.test(value) ? parseInt(value, 10) : value;
      else if (bools.indexOf(name) >= 0) value = value === "true" || value === "on" || value === "1";
      if (lists.indexOf(name) >= 0) data[name].push(value);
      else data[name] = value;
    });
    return data;
  }

  function fillForm(form, data) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name.charAt(0) === "_" || el.type === "file") return;
      // Hidden fields are the page's own (the CSRF token...), except those the address fills in.
      if (el.type === "hidden" && !el.hasAttribute("data-outbox-query")) return;
      var value = data[el.name];
      if (el.type === "radio") el.checked = value !== undefined && String(value) === el.value;
      else if (el.type === "checkbox") el.checked = Array.isArray(value) ? value.indexOf(el.value) >= 0 : !!value;
      else el.value = value === undefined ? "" : value;
    });
  }

  function photosOf(form, recordId) {
    var input = form.querySelector("[data-outbox-photos]");
    if (!input || !input.files || !input.files.length) return Promise.resolve([]);
    var files = Array.prototype.slice.call(input.files, 0, 6);
    return Promise.all(files.map(function (f) { return Outbox.shrinkPhoto(f); })).then(function (blobs) {
      return blobs.filter(Boolean).map(function (blob) {
        return { id: Outbox.uuid(), record_id: recordId, blob: blob, type: "image/jpeg", size: blob.size };
      });
    });
  }

  // ---- answering the form ----

  function clearErrors(form) {
    form.querySelectorAll("[data-outbox-error]").forEach(function (el) { el.remove(); });
    form.querySelectorAll(".field-error").forEach(function (el) { el.classList.remove("field-error"); });
  }

  function formMessage(form, message, kind) {
    var box = form.querySelector("[data-outbox-message]");
    if (!box) { statusBar(message, kind); return; }
    box.textContent = message;
    box.className = "alert alert-" + (kind || "ok");
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function showErrors(form, errors) {
    clearErrors(form);
    var loose = [];
    Object.keys(errors || {}).forEach(function (name) {
      var el = form.querySelector('[name="' + name + '"]');
      var message = errors[name] === "conflict" ? text("conflict") : errors[name];
      if (!el) { loose.push(message); return; }
      var wrapper = el.closest(".field") || el.parentNode;
      wrapper.classList.add("field-error");
      var p = document.createElement("p");
      p.className = "error"; p.setAttribute("role", "alert"); p.setAttribute("data-outbox-error", "");
      p.textContent = message;
      wrapper.appendChild(p);
    });
    formMessage(form, [text("rejected")].concat(loose).join(" "), "error");
  }

  function done(form, message, kind) {
    var target = form.getAttribute("data-outbox-done") || form.getAttribute("data-outbox-redirect");
    refreshBadge();
    if (target) {
      flash(message, kind);
      window.location.assign(target);
    } else {
      form.reset();
      delete form.dataset.outboxEditing;
      formMessage(form, message, kind);
    }
  }

  function withTimeout(promise, ms) {
    return Promise.race([promise, new Promise(function (resolve) {
      setTimeout(function () { resolve({ status: "offline" }); }, ms);
    })]);
  }

  function submit(form) {
    var editing = form.dataset.outboxEditing;
    var button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    var previous = editing ? Outbox.get(editing) : Promise.resolve(null);
    return previous.then(function (old) {
      var id = old ? old.id : Outbox.uuid();
      return photosOf(form, id).then(function (photos) {
        var data = formData(form);
        var photoIds = photos.map(function (p) { return p.id; });
        if (old && !photoIds.length) photoIds = old.photos || [];
        if (photoIds.length) data.photos = photoIds;
        var record = {
          id: id,
          type: form.getAttribute("data-outbox-type"),
          created_at: old ? old.created_at : Outbox.nowWithOffset(),
          data: data,
          state: "pending",
          errors: null,
          title: form.getAttribute("data-outbox-title") || document.title,
          form_url: window.location.pathname,
          photos: photoIds,
          saved_at: old ? old.saved_at : new Date().toISOString(),
        };
        // On the phone first: whatever happens to the request, the record is kept.
        return Outbox.put(record, photos).then(function () { return record; });
      });
    }).then(function (record) {
      askPersistence();
      if (navigator.onLine === false) {
        registerBackgroundSync();
        return done(form, text("savedOffline"), "warn");
      }
      // Through the outbox's one cross-tab lock (another tab's sync may be sending right now).
      return withTimeout(Outbox.sendOne(record.id), SEND_TIMEOUT).then(function (answer) {
        if (answer.status === "signin") {
          signinNeeded();
          return done(form, text("savedOffline"), "warn");
        }
        if (answer.status !== "ok") {
          registerBackgroundSync();
          // "error": the server answered, with a fault (5xx): say so, not "no signal".
          return done(form, text(answer.status === "error" ? "savedServerFault" : "savedOffline"), "warn");
        }
        return Promise.resolve().then(function () {
          var result = answer.results[0] || {};
          if (result.status === "created" || result.status === "duplicate" || result.status === "amended") {
            if (record.photos.length) syncSoon(0);
            return done(form, text("sent"), "ok");
          }
          form.dataset.outboxEditing = record.id;
          refreshBadge();
          showErrors(form, result.status === "conflict" ? { record: "conflict" } : result.errors);
        });
      });
    }).catch(function (err) {
      formMessage(form, text("storageFull") + " (" + err + ")", "error");
    }).then(function () {
      if (button) button.disabled = false;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-outbox-type")) return;
    // Capture phase on the document: runs before htmx's own handler on the form, which then never sees it.
    event.preventDefault();
    event.stopImmediatePropagation();
    submit(form);
  }, true);

  // A form kept on the phone is one copy for every address: `?household=12` opens the cached
  // /worklog/new/errand, so fields marked data-outbox-query="household" take the value from the
  // address (ids only), as the server would have filled them in online.
  function fillFromAddress() {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[data-outbox-type] [data-outbox-query]").forEach(function (el) {
      var value = params.get(el.getAttribute("data-outbox-query"));
      if (!el.value && value && /^\d{1,18}$/.test(value)) el.value = value;
    });
  }

  function loadForEditing() {
    var id = new URLSearchParams(window.location.search).get("outbox");
    var form = document.querySelector("form[data-outbox-type]");
    if (!id || !form) return;
    Outbox.get(id).then(function (record) {
      if (!record) return;
      fillForm(form, record.data);
      form.dataset.outboxEditing = record.id;
      if (record.state === "rejected") showErrors(form, record.errors);
    });
  }

  // ---- syncing ----

  var syncing = null;
  var timer = null;

  function signinNeeded() {
    statusBar(text("signin"), "warn", { href: "/signin?next=" + encodeURIComponent(window.location.pathname), text: text("signinLink") });
  }

  function syncNow() {
    if (syncing) return syncing;
    var status = document.querySelector("[data-outbox-status]");
    if (status) status.textContent = text("syncing");
    syncing = Outbox.sync().then(function (outcome) {
      if (outcome.status === "signin") signinNeeded();
      else if (outcome.status === "ok") {
        var bar = document.getElementById("status-bar");
        if (bar && bar.classList.contains("status-warn")) statusBar("");
        if (outcome.sent) cacheForOffline(true);
      }
      if (status) {
        // "busy": another tab (or the worker) is sending right now; it will report through the badge.
        status.textContent = outcome.status === "ok" || outcome.status === "busy" ? "" :
          outcome.status === "signin" ? text("signin") :
          outcome.status === "error" ? text("serverFault") : text("serverError");
      }
      return outcome;
    }, function () { return { status: "error" }; }).then(function (outcome) {
      syncing = null;
      refreshBadge();
      return outcome;
    });
    return syncing;
  }

  function syncSoon(delay) {
    clearTimeout(timer);
    timer = setTimeout(function () {
      Outbox.count().then(function (n) { if (n) syncNow(); });
    }, delay === undefined ? 1500 : delay);
  }

  function registerBackgroundSync() {
    if (!navigator.serviceWorker) return;
    navigator.serviceWorker.ready.then(function (reg) {
      if (reg.sync) return reg.sync.register("outbox");
    }).catch(function () { /* not supported: the page syncs on "online" */ });
  }

  var persistenceAsked = false;
  function askPersistence() {
    if (persistenceAsked || !navigator.storage || !navigator.storage.persist) return;
    persistenceAsked = true;
    navigator.storage.persisted().then(function (yes) { if (!yes) return navigator.storage.persist(); }).catch(function () {});
  }

  // ---- badge, pending markers, the outbox page ----

  function refreshBadge() {
    return Outbox.all().then(function (records) {
      var n = records.length;
      document.querySelectorAll("[data-outbox-badge]").forEach(function (b) { b.textContent = n; b.hidden = n === 0; });
      document.querySelectorAll("[data-outbox-count]").forEach(function (b) { b.textContent = n; });
      markPending(records);
      renderList(records);
      renderBanner(records);
      return n;
    }).catch(function () { return 0; });
  }

  function markPending(records) {
    var pending = {};
    records.forEach(function (r) { if (r.type === "visit" && r.data) pending[r.data.household_id] = true; });
    document.querySelectorAll("[data-household-id]").forEach(function (row) {
      var label = row.querySelector("[data-pending-label]");
      if (label) label.hidden = !pending[row.getAttribute("data-household-id")];
    });
  }

  function stateLabel(record) {
    return text({ pending: "pendingState", sending: "sendingState", rejected: "rejectedState", photos: "photosState",
                  refused: "refusedState" }[record.state] || "pendingState");
  }

  // What a record is, in the leader's words: its kind (走访, 报问题...) from the sync type.
  function kindLabel(record) {
    var el = document.getElementById("outbox-text");
    var label = el && el.getAttribute("data-kind-" + String(record.type || "").replace(/_/g, "-"));
    return label || "";
  }

  // Its subject: the form's title without the kind the label already says ("走访 · 3栋201 · 张三" → "3栋201 · 张三").
  function subject(record) {
    var title = record.title || "";
    var kind = kindLabel(record);
    if (kind && title.indexOf(kind + " · ") === 0) title = title.slice(kind.length + 3);
    else if (kind && title === kind) title = "";
    return title;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  // The app's own format (server/web.py local_time, visits local_date): 11-27 18:30, with the year
  // only when it is not this year. The phone's clock, as the leader saw it when recording.
  function appTime(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    var day = pad(d.getMonth() + 1) + "-" + pad(d.getDate());
    if (d.getFullYear() !== new Date().getFullYear()) day = d.getFullYear() + "-" + day;
    return day + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
  }

  function errorText(record) {
    return Object.keys(record.errors || {}).map(function (field) {
      return record.errors[field] === "conflict" ? text("conflict") : record.errors[field];
    });
  }

  function editUrl(record) {
    return record.form_url ? record.form_url + "?outbox=" + encodeURIComponent(record.id) : "/outbox";
  }

  // A record the background sync set aside (or a server fault holding records back) is said on the
  // page the leader starts from, with what to fix: not only as a number on the badge.
  function renderBanner(records) {
    var banner = document.querySelector("[data-outbox-banner]");
    if (!banner) return;
    var aside = records.filter(function (r) { return r.state === "rejected"; });
    var held = records.filter(function (r) { return r.state === "pending" && r.last_error === "error"; });
    banner.textContent = "";
    banner.hidden = !aside.length && !held.length;
    if (banner.hidden) return;
    banner.className = "alert outbox-banner " + (aside.length ? "alert-error" : "alert-warn");
    if (aside.length) {
      var head = document.createElement("p");
      head.className = "outbox-banner-title";
      head.textContent = text("bannerRejected").replace("%(n)s", aside.length);
      banner.appendChild(head);
      var list = document.createElement("ul");
      list.className = "plain-list";
      aside.slice(0, 5).forEach(function (record) {
        var li = document.createElement("li");
        li.setAttribute("data-banner-record", record.id);
        var what = document.createElement("strong");
        what.textContent = [kindLabel(record), subject(record)].filter(Boolean).join(" · ");
        li.appendChild(what);
        var why = document.createElement("span");
        why.className = "outbox-banner-why";
        why.textContent = errorText(record).join(" ");
        li.appendChild(why);
        var fix = document.createElement("a");
        fix.className = "button button-secondary"; fix.href = editUrl(record); fix.textContent = text("fix");
        li.appendChild(fix);
        list.appendChild(li);
      });
      banner.appendChild(list);
    }
    if (held.length) {
      var fault = document.createElement("p");
      fault.textContent = text("bannerServerFault").replace("%(n)s", held.length);
      banner.appendChild(fault);
    }
    var more = document.createElement("a");
    more.href = "/outbox"; more.textContent = text("openOutbox");
    banner.appendChild(more);
  }

  function renderList(records) {
    var list = document.querySelector("[data-outbox-list]");
    if (!list) return;
    list.textContent = "";
    if (!records.length) {
      var empty = document.createElement("li");
      empty.className = "empty"; empty.textContent = text("empty");
      list.appendChild(empty);
      return;
    }
    records.forEach(function (record) {
      var li = document.createElement("li");
      li.className = "outbox-item outbox-" + record.state;
      li.setAttribute("data-record-id", record.id);
      li.setAttribute("data-state", record.state);
      var title = document.createElement("span");
      title.className = "list-title";
      var kind = kindLabel(record);
      if (kind) {
        var tag = document.createElement("span");
        tag.className = "tag outbox-kind"; tag.setAttribute("data-outbox-kind", record.type); tag.textContent = kind;
        title.appendChild(tag);
        title.appendChild(document.createTextNode(" "));
      }
      title.appendChild(document.createTextNode(subject(record) || (kind ? "" : record.title || record.type)));
      var sub = document.createElement("span");
      sub.className = "list-sub";
      var state = record.state === "pending" && record.last_error === "error" ? text("faultState") : stateLabel(record);
      var when = document.createElement("span");
      when.setAttribute("data-outbox-time", ""); when.textContent = appTime(record.created_at);
      sub.appendChild(when);
      sub.appendChild(document.createTextNode(" · " + state +
        (record.photos && record.photos.length ? " · " + record.photos.length + " " + text("photoCount") : "")));
      li.appendChild(title); li.appendChild(sub);
      if (record.state === "rejected" && record.errors) {
        var errors = document.createElement("ul");
        errors.className = "outbox-errors";
        // The message names the problem in the leader's words; the field's id would not help them.
        errorText(record).forEach(function (message) {
          var e = document.createElement("li");
          e.className = "error";
          e.textContent = message;
          errors.appendChild(e);
        });
        li.appendChild(errors);
      }
      if (record.state === "refused" && record.photo_errors) {
        // The record is on the server; these photos are not: kept here with the server's reason.
        var refused = document.createElement("ul");
        refused.className = "outbox-errors";
        Object.keys(record.photo_errors).forEach(function (photoId) {
          var e = document.createElement("li");
          e.className = "error";
          e.setAttribute("data-refused-photo", photoId);
          var label = text("photoRefused");
          e.textContent = label + (label.slice(-1) === ":" ? " " : "") + record.photo_errors[photoId];
          refused.appendChild(e);
        });
        li.appendChild(refused);
      }
      var actions = document.createElement("div");
      actions.className = "actions";
      if (record.form_url && record.state !== "photos" && record.state !== "refused") {
        var edit = document.createElement("a");
        edit.className = "button button-secondary"; edit.textContent = text("edit");
        edit.href = editUrl(record);
        actions.appendChild(edit);
      }
      var del = document.createElement("button");
      del.type = "button"; del.className = "button button-secondary"; del.textContent = text("delete");
      del.setAttribute("data-outbox-delete", record.id);
      actions.appendChild(del);
      li.appendChild(actions);
      list.appendChild(li);
    });
  }

  function blobToDataUrl(blob) {
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { resolve(null); };
      reader.readAsDataURL(blob);
    });
  }

  function exportToFile() {
    return Outbox.all().then(function (records) {
      return Promise.all(records.map(function (r) {
        return Promise.all((r.photos || []).map(function (id) {
          return Outbox.getPhoto(id).then(function (p) { return p ? blobToDataUrl(p.blob).then(function (url) { return { id: id, data_url: url }; }) : null; });
        })).then(function (photos) { return Object.assign({}, r, { photo_files: photos.filter(Boolean) }); });
      }));
    }).then(function (records) {
      var body = JSON.stringify({ exported_at: Outbox.nowWithOffset(), format: Outbox.FORMAT, records: records }, null, 2);
      var url = URL.createObjectURL(new Blob([body], { type: "application/json" }));
      var a = document.createElement("a");
      a.href = url; a.download = "weiwang-outbox-" + new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-") + ".json";
      document.body.appendChild(a); a.click(); a.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
    });
  }

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-outbox-sync], [data-outbox-export], [data-outbox-delete]");
    if (!target) return;
    if (target.hasAttribute("data-outbox-sync")) {
      // "Sync now" also retries records set aside, in case they were fixed server-side. One set
      // aside as a conflict by an older app goes again as the next version: an amendment.
      Outbox.all().then(function (records) {
        return Promise.all(records.filter(function (r) { return r.state === "rejected"; }).map(function (r) {
          return Outbox.update(r.id, r.conflict ? { state: "pending", conflict: false, errors: null, version: (r.version || 1) + 1 }
                                                : { state: "pending" });
        }));
      }).then(syncNow);
    } else if (target.hasAttribute("data-outbox-export")) {
      exportToFile();
    } else if (window.confirm(text("confirmDelete"))) {
      Outbox.remove(target.getAttribute("data-outbox-delete")).then(refreshBadge);
    }
  });

  // ---- pages kept for offline use (the service worker does the fetching) ----

  var PAGES_CACHE = "weiwang-pages";

  function signedIn() { return !!document.querySelector(".tabbar"); }

  function cacheForOffline(force) {
    if (!navigator.serviceWorker || !navigator.serviceWorker.controller || !signedIn()) return;
    if (!force && window.caches) {
      // Pages dropped (a revoked session, sign-out) or never kept: keep them now, not in ten minutes.
      caches.open(PAGES_CACHE).then(function (cache) { return cache.match("/__owner"); }).then(function (owner) {
        cacheForOfflineAfter(!owner);
      }, function () { cacheForOfflineAfter(false); });
      return;
    }
    cacheForOfflineAfter(force);
  }

  function cacheForOfflineAfter(force) {
    var last = 0;
    try { last = parseInt(localStorage.getItem("offline-cached-at") || "0", 10); } catch (e) { /* ignore */ }
    if (!force && Date.now() - last < 10 * 60 * 1000) return;
    try { localStorage.setItem("offline-cached-at", String(Date.now())); } catch (e) { /* ignore */ }
    navigator.serviceWorker.controller.postMessage({ type: "cache-offline" });
  }

  function showOfflineCount() {
    var boxes = document.querySelectorAll("[data-offline-count]");
    if (!boxes.length || !window.caches) return;
    caches.open(PAGES_CACHE).then(function (cache) { return cache.keys(); }).then(function (keys) {
      var n = keys.filter(function (k) { return k.url.indexOf("/__") < 0; }).length;
      boxes.forEach(function (box) {
        var span = box.querySelector("[data-offline-count-n]");
        if (span) span.textContent = n;
        box.hidden = n === 0;
      });
    });
  }

  if (navigator.serviceWorker) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () { /* http on a LAN IP: no worker */ });
    navigator.serviceWorker.addEventListener("message", function (event) {
      var msg = event.data || {};
      if (msg.type === "sync") syncNow();
      if (msg.type === "offline-cached") showOfflineCount();
    });
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      // A new version of the app took over: its pages name new static files, keep fresh copies.
      setTimeout(function () { cacheForOffline(true); }, 300);
    });
    navigator.serviceWorker.ready.then(function () {
      // The first load is not controlled yet; the worker claims the page within milliseconds.
      setTimeout(function () { cacheForOffline(false); }, 300);
    });
  }

  document.addEventListener("submit", function (event) {
    // Signing out: the pages kept on the phone belong to this person, so forget them.
    if (event.target && event.target.id === "signout-form" && navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "signed-out" });
      try { localStorage.removeItem("offline-cached-at"); } catch (e) { /* ignore */ }
    }
  }, true);

  function filterList(input) {
    var query = input.value.trim().toLowerCase();
    document.querySelectorAll(input.getAttribute("data-filter")).forEach(function (item) {
      var hay = (item.getAttribute("data-filter-text") || item.textContent).toLowerCase();
      item.hidden = query !== "" && hay.indexOf(query) < 0;
    });
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input[data-filter]")) filterList(event.target);
  });

  Outbox.onChange(function () { refreshBadge(); });
  window.addEventListener("online", function () { syncSoon(0); });
  document.addEventListener("htmx:after:request", function () { syncSoon(); });
  setInterval(function () { if (navigator.onLine !== false) syncSoon(0); }, 60000);

  function init() {
    showFlash();
    fillFromAddress();
    refreshBadge().then(function (n) { if (n && navigator.onLine !== false) syncSoon(300); });
    loadForEditing();
    showOfflineCount();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  // htmx-boosted navigation swaps the body without a load event.
  document.addEventListener("htmx:after:swap", function () { refreshBadge(); fillFromAddress(); loadForEditing(); showOfflineCount(); });

  window.WeiwangOutboxPage = { syncNow: syncNow, refreshBadge: refreshBadge, exportToFile: exportToFile };
})();
