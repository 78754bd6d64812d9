// The on-site patrol checklist (templates/patrols/new.html), one-handed and offline.
//
// The whole patrol is one outbox record of type "patrol" (see server/patrols/records.py):
// the form is turned into {compound_id, template_version_id, answers: [...], participants:
// [...], notes} and handed to the outbox (static/js/outbox-core.js, IndexedDB
// "weiwang"/"outbox"), which sends it to /api/sync when the phone is online, exactly once.
// Ids are made here at submit time (never in the HTML: a cached form would reuse them):
// the patrol's, each problem's and each photo's. Photos are shrunk here and wait in the
// outbox's "photos" store until the patrol is stored, then upload one by one (the one shrink:
// WeiwangOutbox.shrinkPhoto in outbox-core.js).
// Without JavaScript the same form posts to the server and is stored the same way.
"use strict";
(function () {
  if (window.WeiwangPatrol) return; // loaded again by a boosted navigation: the listeners are on document
  var photos = {}; // item id -> [{id, blob, type}], for the form on screen
  var editing = null; // id of an outbox record opened for correcting (?outbox=<id>)

  function formOf(el) { return el && el.closest ? el.closest("form[data-patrol-form]") : null; }
  function items(form) { return Array.prototype.slice.call(form.querySelectorAll("[data-item]")); }
  function checked(scope, name) {
    var input = scope.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  function refresh(form) {
    var all = items(form);
    var answered = 0;
    all.forEach(function (fieldset) {
      var result = checked(fieldset, "result-" + fieldset.dataset.item);
      if (result) answered += 1;
      fieldset.classList.toggle("is-failed", result === "fail");
      // An item pointed out as missing stops being red once it is answered (and handled, if failed).
      if (result && (result !== "fail" || checked(fieldset, "handling-" + fieldset.dataset.item))) {
        fieldset.classList.remove("field-error");
      }
    });
    var progress = form.querySelector("[data-progress]");
    if (progress) {
      progress.textContent = (form.dataset.msgProgress || "%(n)s / %(total)s")
        .replace("%(n)s", answered).replace("%(total)s", all.length);
      progress.classList.remove("progress-error");
    }
    var people = form.querySelectorAll('input[name="participant"]:checked, input[name="helper"]:checked').length +
      Array.prototype.filter.call(form.querySelectorAll('input[name^="guest_name-"]'), function (i) { return i.value.trim(); }).length;
    var count = form.querySelector("[data-participant-count]");
    if (count) count.textContent = String(people);
  }

  function nextUnanswered(form, after) {
    var all = items(form);
    var start = all.indexOf(after) + 1;
    for (var i = start; i < all.length; i += 1) {
      if (!checked(all[i], "result-" + all[i].dataset.item)) return all[i];
    }
    return null;
  }

  function showPhotoCount(form, itemId) {
    var el = form.querySelector('[data-photo-count="' + itemId + '"]');
    var n = (photos[itemId] || []).length;
    if (el) el.textContent = n ? (form.dataset.msgPhotos || "%(n)s").replace("%(n)s", n) : "";
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    var form = formOf(target);
    if (!form) return;
    if (target.name && target.name.indexOf("result-") === 0) {
      var fieldset = target.closest("[data-item]");
      refresh(form);
      // One thumb: after pass / n.a., bring the next unanswered item up.
      if (target.value !== "fail") {
        var next = nextUnanswered(form, fieldset);
        if (next) next.scrollIntoView({ behavior: "smooth", block: "start" });
      } else {
        var note = fieldset.querySelector("textarea");
        if (note) note.scrollIntoView({ behavior: "smooth", block: "center" });
      }
      return;
    }
    if (target.dataset && target.dataset.photoFor && target.files && target.files.length) {
      var itemId = target.dataset.photoFor;
      var files = Array.prototype.slice.call(target.files, 0, 6);
      Promise.all(files.map(function (f) { return window.WeiwangOutbox.shrinkPhoto(f); })).then(function (blobs) {
        photos[itemId] = (photos[itemId] || []).concat(blobs.filter(Boolean).map(function (blob) {
          return { id: window.WeiwangOutbox.uuid(), blob: blob, type: "image/jpeg" };
        })).slice(0, 6);
        target.value = "";
        showPhotoCount(form, itemId);
      });
      return;
    }
    refresh(form);
  });

  document.addEventListener("input", function (event) {
    var form = formOf(event.target);
    if (form && event.target.name && event.target.name.indexOf("guest_name-") === 0) refresh(form);
  });

  function build(form) {
    var outbox = window.WeiwangOutbox;
    var answers = [];
    var problems = [];
    var recordPhotos = [];
    items(form).forEach(function (fieldset) {
      var id = fieldset.dataset.item;
      var result = checked(fieldset, "result-" + id);
      var handling = checked(fieldset, "handling-" + id);
      var answer = { item_id: Number(id), result: result, note: (fieldset.querySelector("textarea") || {}).value || "" };
      answer.note = answer.note.trim();
      if (!result) problems.push(fieldset);
      if (result === "fail") {
        if (handling === "fixed") answer.fixed_on_spot = true;
        else if (handling === "problem") answer.problem_id = outbox.uuid();
        else problems.push(fieldset);
      }
      // Any item may carry photos (a failed one usually does).
      if ((photos[id] || []).length) {
        answer.photos = photos[id].map(function (p) { return p.id; });
        photos[id].forEach(function (p) { recordPhotos.push(p); });
      }
      answers.push(answer);
    });
    var participants = [];
    Array.prototype.forEach.call(form.querySelectorAll('input[name="participant"]:checked'), function (box) {
      var pid = box.value;
      participants.push({
        role: (form.querySelector('input[name="participant_role-' + pid + '"]') || {}).value || "other",
        name: (form.querySelector('input[name="participant_name-' + pid + '"]') || {}).value || "-",
        person_id: Number(pid),
      });
    });
    // Helpers from the community's register: named like guests (they hold no account).
    Array.prototype.forEach.call(form.querySelectorAll('input[name="helper"]:checked'), function (box) {
      var hid = box.value;
      var name = (form.querySelector('input[name="helper_name-' + hid + '"]') || {}).value || "";
      if (!name) return;
      participants.push({
        role: (form.querySelector('input[name="helper_role-' + hid + '"]') || {}).value || "other",
        name: name.slice(0, 40),
      });
    });
    Array.prototype.forEach.call(form.querySelectorAll('input[name^="guest_name-"]'), function (input) {
      var name = input.value.trim();
      if (!name) return;
      var index = input.name.split("-")[1];
      participants.push({ role: form.querySelector('select[name="guest_role-' + index + '"]').value, name: name.slice(0, 40) });
    });
    var notes = form.querySelector('[name="notes"]');
    return {
      problems: problems,
      photos: recordPhotos,
      data: {
        compound_id: Number(form.querySelector('[name="compound_id"]').value),
        template_version_id: Number(form.querySelector('[name="template_version_id"]').value),
        answers: answers,
        participants: participants,
        notes: notes ? notes.value.trim() : "",
      },
    };
  }

  function say(message, kind) {
    var status = document.getElementById("patrol-status");
    if (!status) return;
    status.textContent = message;
    status.className = "alert " + (kind === "error" ? "alert-error" : "alert-ok");
    status.hidden = false;
  }

  document.addEventListener("submit", function (event) {
    var form = formOf(event.target);
    var outbox = window.WeiwangOutbox;
    if (!form || !outbox) return; // no outbox: the form posts to the server as it is
    // Capture phase on the document, like outbox.js: htmx never sees this submit.
    event.preventDefault();
    event.stopImmediatePropagation();
    var built = build(form);
    items(form).forEach(function (f) { f.classList.remove("field-error"); });
    if (built.problems.length) {
      built.problems.forEach(function (f) { f.classList.add("field-error"); });
      // Said in the bar by the thumb (it stays on screen), until the next answer.
      var progress = form.querySelector("[data-progress]");
      var message = (form.dataset.msgIncomplete || "%(n)s").replace("%(n)s", built.problems.length);
      if (progress) { progress.textContent = message; progress.classList.add("progress-error"); }
      else say(message, "error");
      built.problems[0].scrollIntoView({ behavior: "smooth", block: "start" });
      return;
    }
    var button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    // A record set aside by the server and opened again from the outbox keeps its id,
    // its time and its problems' ids: correcting it must not make a second patrol.
    (editing ? outbox.get(editing) : Promise.resolve(null)).then(function (old) {
      var id = old ? old.id : outbox.uuid();
      if (old) {
        var oldProblems = {};
        (old.data.answers || []).forEach(function (a) { if (a.problem_id) oldProblems[a.item_id] = a.problem_id; });
        built.data.answers.forEach(function (a) { if (a.problem_id && oldProblems[a.item_id]) a.problem_id = oldProblems[a.item_id]; });
      }
      var photoIds = built.photos.map(function (p) { return p.id; }).concat(old ? old.photos || [] : []);
      if (old) {
        // Keep photos already waiting for the items they were taken for.
        (old.data.answers || []).forEach(function (a) {
          var now = built.data.answers.filter(function (b) { return b.item_id === a.item_id; })[0];
          if (now && a.photos) now.photos = (now.photos || []).concat(a.photos).slice(0, 6);
        });
      }
      var record = {
        id: id, type: "patrol", created_at: old ? old.created_at : outbox.nowWithOffset(), data: built.data,
        state: "pending", errors: null, title: form.dataset.title || "", form_url: location.pathname,
        saved_at: old ? old.saved_at : new Date().toISOString(), photos: photoIds, attempts: 0,
      };
      var stored = built.photos.map(function (p) { return { id: p.id, record_id: id, blob: p.blob, type: p.type }; });
      return outbox.put(record, stored).then(function () { return id; });
    }).then(function (id) {
      editing = null;
      photos = {};
      form.hidden = true;
      say(form.dataset.msgSaved || "Saved", "ok");
      var done = document.getElementById("patrol-done");
      if (done) done.hidden = false;
      window.scrollTo(0, 0);
      if (navigator.onLine !== false) {
        var page = window.WeiwangOutboxPage;
        return (page ? page.syncNow() : outbox.sync()).then(function (outcome) {
          if (outcome && outcome.status === "ok") {
            return outbox.get(id).then(function (left) {
              if (!left) say(form.dataset.msgSynced || "Synced", "ok");
              else if (left.state === "rejected") say(form.dataset.msgRejected || "Rejected", "error");
            });
          }
        });
      }
    }).catch(function () {
      if (button) button.disabled = false;
      say(form.dataset.msgFailed || "Failed", "error");
    });
  }, true);

  // The print page prints itself (the report is already on screen; printing is audited by the server).
  function autoprint() {
    if (document.querySelector("[data-autoprint]")) window.setTimeout(function () { window.print(); }, 300);
  }

  // Opened from the outbox page (?outbox=<id>): fill the form with the record, show the server's reasons.
  function loadForEditing(form) {
    var id = new URLSearchParams(location.search).get("outbox");
    if (!id || !window.WeiwangOutbox) return;
    window.WeiwangOutbox.get(id).then(function (record) {
      if (!record || record.type !== "patrol") return;
      editing = record.id;
      var data = record.data || {};
      (data.answers || []).forEach(function (a) {
        var radio = form.querySelector('input[name="result-' + a.item_id + '"][value="' + a.result + '"]');
        if (radio) radio.checked = true;
        var note = form.querySelector('[name="note-' + a.item_id + '"]');
        if (note) note.value = a.note || "";
        var more = note && note.closest("[data-item]").querySelector(".more-input");
        if (more) more.checked = !!a.note || !!(a.photos && a.photos.length);
        var how = a.fixed_on_spot ? "fixed" : a.problem_id ? "problem" : "";
        var handling = how && form.querySelector('input[name="handling-' + a.item_id + '"][value="' + how + '"]');
        if (handling) handling.checked = true;
      });
      var people = {};
      (data.participants || []).forEach(function (p) { if (p.person_id) people[p.person_id] = true; });
      Array.prototype.forEach.call(form.querySelectorAll('input[name="participant"]'), function (box) { box.checked = !!people[box.value]; });
      // A guest who is on the helpers register ticks their box again; the rest fill the guest rows.
      Array.prototype.forEach.call(form.querySelectorAll('input[name="helper"]'), function (box) { box.checked = false; });
      var guests = (data.participants || []).filter(function (p) {
        if (p.person_id) return false;
        var match = Array.prototype.filter.call(form.querySelectorAll('input[name="helper"]'), function (box) {
          var n = form.querySelector('input[name="helper_name-' + box.value + '"]');
          var r = form.querySelector('input[name="helper_role-' + box.value + '"]');
          return n && r && n.value === p.name && r.value === p.role && !box.checked;
        })[0];
        if (match) { match.checked = true; return false; }
        return true;
      });
      guests.forEach(function (g, i) {
        var name = form.querySelector('[name="guest_name-' + i + '"]');
        var role = form.querySelector('[name="guest_role-' + i + '"]');
        if (name) name.value = g.name;
        if (role) role.value = g.role;
      });
      var notes = form.querySelector('[name="notes"]');
      if (notes) notes.value = data.notes || "";
      refresh(form);
      var errors = record.errors || {};
      var general = [];
      Object.keys(errors).forEach(function (field) {
        var fieldset = field.indexOf("item-") === 0 && form.querySelector('[data-item="' + field.slice(5) + '"]');
        if (!fieldset) { general.push(errors[field]); return; }
        fieldset.classList.add("field-error");
        var p = document.createElement("p");
        p.className = "error"; p.setAttribute("role", "alert"); p.textContent = errors[field];
        fieldset.appendChild(p);
      });
      if (general.length) say(general.join(" "), "error");
    });
  }

  function init() {
    var form = document.querySelector("form[data-patrol-form]");
    if (form) {
      // With the outbox, unanswered items are pointed out here (all of them, not one bubble at a time).
      if (window.WeiwangOutbox) form.noValidate = true;
      form.classList.add("js"); // photos need this script (shrunk here, sent through the outbox)
      refresh(form);
      loadForEditing(form);
    }
    autoprint();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
  document.addEventListener("htmx:after:swap", init);

  window.WeiwangPatrol = { build: build, refresh: refresh };
})();
