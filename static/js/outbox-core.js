// The outbox's storage and sync, without any DOM: loaded by the pages (outbox.js) and by
// the service worker (importScripts, for Background Sync). See outbox.js for the forms.
//
// IndexedDB "weiwang" (these names are relied on by the sign-out warning, signout.js):
//   "outbox": keyPath "id" — one record per form submission:
//       {id, format, type, created_at, data, state, errors, title, form_url, photos: [photo ids],
//        saved_at, attempts, last_error}
//     state: "pending" (waiting), "sending" (a request is out: treated as pending after a crash),
//            "rejected" (the server refused it: set aside with `errors`, the rest keep syncing),
//            "photos" (the record is stored; its photos are still uploading),
//            "refused" (the record is stored, but the server refused some of its photos for good
//            (400/413/415): they stay on the phone, quarantined with the server's reason in
//            `photo_errors` {photo id: message}, exported like any record, deleted only by the leader).
//     A record is deleted only after the server acknowledged it (created or duplicate) and
//     all its photos were acknowledged too.
//   "photos": keyPath "id" (the photo's UUID), index "record_id": {id, record_id, blob, type}.
// `format` is the record layout version: a newer app upgrades older records on read
// (upgradeRecord) and never drops one it does not understand.
"use strict";
(function (global) {
  var DB_NAME = "weiwang";
  var DB_VERSION = 1;
  var FORMAT = 1;
  var BATCH = 100; // records per request: well under the server's 500 / 5 MB limits
  var LOCK = "weiwang-outbox";

  function promisify(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  var dbPromise = null;
  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var db = request.result;
        if (!db.objectStoreNames.contains("outbox")) db.createObjectStore("outbox", { keyPath: "id" });
        if (!db.objectStoreNames.contains("photos")) {
          db.createObjectStore("photos", { keyPath: "id" }).createIndex("record_id", "record_id");
        }
      };
      request.onsuccess = function () {
        var db = request.result;
        // Another tab upgrading the schema: let it, reopen on next use.
        db.onversionchange = function () { db.close(); dbPromise = null; };
        resolve(db);
      };
      request.onerror = function () { dbPromise = null; reject(request.error); };
      request.onblocked = function () { /* another tab holds an older version; it closes on versionchange */ };
    });
    return dbPromise;
  }

  function tx(stores, mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(stores, mode);
        var result;
        Promise.resolve(fn(t)).then(function (r) { result = r; });
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error("aborted")); };
      });
    });
  }

  function upgradeRecord(record) {
    // Format 1 is the first; later formats convert older records here, never discard them.
    if (!record.format) record.format = 1;
    if (!record.state) record.state = "pending";
    if (!record.photos) record.photos = [];
    return record;
  }

  function all() {
    return tx(["outbox"], "readonly", function (t) {
      return promisify(t.objectStore("outbox").getAll());
    }).then(function (records) {
      return records.map(upgradeRecord).sort(function (a, b) {
        return (a.saved_at || "").localeCompare(b.saved_at || "");
      });
    });
  }

  function get(id) {
    return tx(["outbox"], "readonly", function (t) {
      return promisify(t.objectStore("outbox").get(id));
    }).then(function (r) { return r ? upgradeRecord(r) : null; });
  }

  function count() {
    return tx(["outbox"], "readonly", function (t) { return promisify(t.objectStore("outbox").count()); });
  }

  // Saving a record: a new one is version 1; saving it again (an edit) makes the next version,
  // which the server applies as an amendment if it already holds an earlier one
  // (server/sync/routes.py). Read and written in one transaction: two tabs never share a version.
  function put(record, photos) {
    record.format = FORMAT;
    return tx(["outbox", "photos"], "readwrite", function (t) {
      var store = t.objectStore("outbox");
      return promisify(store.get(record.id)).then(function (existing) {
        record.version = existing ? (existing.version || 1) + 1 : (record.version || 1);
        store.put(record);
        (photos || []).forEach(function (p) { t.objectStore("photos").put(p); });
      });
    }).then(notify);
  }

  function update(id, changes) {
    return tx(["outbox"], "readwrite", function (t) {
      var store = t.objectStore("outbox");
      return promisify(store.get(id)).then(function (record) {
        if (!record) return null;
        Object.assign(record, changes);
        store.put(record);
        return record;
      });
    });
  }

  function remove(id) {
    return tx(["outbox", "photos"], "readwrite", function (t) {
      t.objectStore("outbox").delete(id);
      var index = t.objectStore("photos").index("record_id");
      return promisify(index.getAllKeys(id)).then(function (keys) {
        keys.forEach(function (k) { t.objectStore("photos").delete(k); });
      });
    }).then(notify);
  }

  function getPhoto(id) {
    return tx(["photos"], "readonly", function (t) { return promisify(t.objectStore("photos").get(id)); });
  }

  function removePhoto(id) {
    return tx(["photos"], "readwrite", function (t) { t.objectStore("photos").delete(id); });
  }

  // Listeners: pages update the badge and the outbox list; the worker ignores it.
  var listeners = [];
  function onChange(fn) { listeners.push(fn); }
  function notify(detail) {
    listeners.forEach(function (fn) { try { fn(detail || {}); } catch (e) { /* a listener's bug is not ours */ } });
    return detail;
  }

  function envelope(record) {
    return { id: record.id, type: record.type, created_at: record.created_at, data: record.data, version: record.version || 1 };
  }

  // The CSRF token: pages read the cookie; the worker has cookieStore (Chromium) or nothing.
  function csrfToken() {
    if (typeof document !== "undefined") {
      var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
      return Promise.resolve(match ? decodeURIComponent(match[1]) : null);
    }
    if (global.cookieStore) {
      return global.cookieStore.get("csrftoken").then(function (c) { return c ? c.value : null; });
    }
    return Promise.resolve(null);
  }

  function ensureToken() {
    return csrfToken().then(function (token) {
      if (token) return token;
      // A GET makes the server set the cookie (it may have gone with a browser restart).
      return fetch("/api/sync", { credentials: "same-origin", cache: "no-store" }).then(function () {
        return csrfToken();
      });
    });
  }

  function postJson(url, body, token) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: { "content-type": "application/json", "accept": "application/json", "x-csrftoken": token || "" },
      body: JSON.stringify(body),
    });
  }

  // A session the server says was revoked or is unknown (ended elsewhere, deleted): the pages
  // kept for offline use hold personal data, so they go at once (the header x-session-ended,
  // server/accounts/auth.py). An expired session keeps them: the leader signs in again.
  // The outbox itself is never touched: it is the leader's unsent work.
  var PAGES_CACHE = "weiwang-pages";
  var DROP_PAGES_ON = { revoked: true, unknown: true };
  function sessionEnded(response) {
    var reason = response && response.headers ? response.headers.get("x-session-ended") : null;
    if (!reason || !DROP_PAGES_ON[reason] || !global.caches) return Promise.resolve(false);
    return global.caches.delete(PAGES_CACHE).then(function () { return true; }, function () { return false; });
  }

  // Send records; returns {status: "ok"|"offline"|"signin"|"error", results?, code?}.
  function send(records) {
    return ensureToken().then(function (token) {
      return postJson("/api/sync", { records: records.map(envelope) }, token);
    }).then(function (response) {
      if (response.status === 401) return sessionEnded(response).then(function () { return { status: "signin" }; });
      if (!response.ok) return { status: "error", code: response.status };
      return response.json().then(function (body) { return { status: "ok", results: body.results || [] }; });
    }, function () {
      return { status: "offline" };
    });
  }

  // The server's answer for records as they were sent. Each is read again in the same
  // transaction: if it was edited meanwhile (a newer version saved while this one was out, in this
  // tab or another), the answer is about an older version: the edit stays pending and goes next,
  // as an amendment. Nothing saved on the phone is ever dropped by an answer about something else.
  function settleOne(sent, r) {
    return tx(["outbox", "photos"], "readwrite", function (t) {
      var store = t.objectStore("outbox");
      return promisify(store.get(sent.id)).then(function (current) {
        if (!current) return;
        if ((current.version || 1) !== (sent.version || 1)) {
          if (current.state === "sending") { current.state = "pending"; store.put(current); }
          return;
        }
        if (!r) { current.state = "pending"; store.put(current); return; }
        if (r.status === "created" || r.status === "duplicate" || r.status === "amended") {
          if (current.photos && current.photos.length) {
            current.state = "photos"; current.errors = null; store.put(current); return;
          }
          store.delete(sent.id);
          var index = t.objectStore("photos").index("record_id");
          return promisify(index.getAllKeys(sent.id)).then(function (keys) {
            keys.forEach(function (k) { t.objectStore("photos").delete(k); });
          });
        }
        if (r.status === "conflict") {
          current.state = "rejected"; current.errors = { record: "conflict" }; current.conflict = true;
        } else {
          current.state = "rejected"; current.errors = r.errors || {};
        }
        store.put(current);
      });
    });
  }

  function settle(records, results) {
    var byId = {};
    results.forEach(function (r) { byId[r.id] = r; });
    return Promise.all(records.map(function (record) { return settleOne(record, byId[record.id]); })).then(notify);
  }

  // The server's answer to a refused photo, in the leader's language ({detail} from Litestar).
  function refusal(response) {
    return response.json().then(function (body) {
      return (body && body.detail) || String(response.status);
    }, function () { return String(response.status); });
  }

  function uploadPhotos(record) {
    var chain = Promise.resolve("ok");
    var refused = {};
    (record.photos || []).forEach(function (photoId) {
      chain = chain.then(function (state) {
        if (state !== "ok") return state;
        return getPhoto(photoId).then(function (photo) {
          if (!photo) return "ok"; // already uploaded and removed
          return ensureToken().then(function (token) {
            return fetch("/api/photos/" + photoId, {
              method: "PUT", credentials: "same-origin", cache: "no-store",
              headers: { "content-type": photo.type || "image/jpeg", "x-record-id": record.id, "x-csrftoken": token || "" },
              body: photo.blob,
            });
          }).then(function (response) {
            if (response.status === 401) return sessionEnded(response).then(function () { return "signin"; });
            if (response.ok || response.status === 409) {
              return removePhoto(photoId).then(function () { return "ok"; }); // acknowledged (409: already there)
            }
            if (response.status === 400 || response.status === 413 || response.status === 415) {
              // Refused for good: kept on the phone with the reason, never deleted without a word;
              // the record's other photos still go.
              return refusal(response).then(function (reason) { refused[photoId] = reason; return "ok"; });
            }
            return "error";
          }, function () { return "offline"; });
        });
      });
    });
    return chain.then(function (state) {
      if (state !== "ok") return state;
      if (Object.keys(refused).length) {
        return update(record.id, { state: "refused", photo_errors: refused }).then(function () { notify(); return "ok"; });
      }
      return remove(record.id).then(function () { return "ok"; });
    });
  }

  // ---- photos: the one shrink every form uses ----

  // The server's limits (server/photos.py): JPEG, at most 1600 px a side and 300 KB.
  var PHOTO_MAX_SIDE = 1600;
  var PHOTO_MAX_BYTES = 300 * 1024;

  function loadImage(file) {
    if (global.createImageBitmap) return createImageBitmap(file);
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = reject;
      img.src = URL.createObjectURL(file);
    });
  }

  // Shrink a photo for the outbox; resolves a JPEG Blob within the limits, or null when the file
  // is not an image the browser can read. Quality goes down to 0.55; if a detailed photo is still
  // too heavy the picture is scaled down by a quarter at a time until it fits: the limit holds
  // for any photo, so the server never has to refuse one this phone made.
  function shrinkPhoto(file, limits) {
    var maxSide = (limits && limits.maxSide) || PHOTO_MAX_SIDE;
    var maxBytes = (limits && limits.maxBytes) || PHOTO_MAX_BYTES;
    return loadImage(file).then(function (image) {
      var canvas = document.createElement("canvas");
      var scale = Math.min(1, maxSide / Math.max(image.width, image.height));
      function attempt(quality) {
        canvas.width = Math.max(1, Math.round(image.width * scale));
        canvas.height = Math.max(1, Math.round(image.height * scale));
        canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
        return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); }).then(function (blob) {
          if (!blob) return null;
          if (blob.size <= maxBytes) return blob;
          if (quality > 0.6) return attempt(quality - 0.15);
          if (Math.max(canvas.width, canvas.height) <= 64) return null; // cannot happen for 300 KB; never loop
          scale *= 0.75;
          return attempt(0.7);
        });
      }
      return attempt(0.85);
    }).catch(function () { return null; });
  }

  // Every send (sync, a form's submit, the worker's Background Sync) holds this one cross-tab
  // lock (Web Locks API), so two tabs never send one record at once. A sync that finds it held
  // does nothing ("busy": the holder sends everything waiting); a submit waits its turn.
  function withLock(fn, wait) {
    if (global.navigator && navigator.locks) {
      if (wait) return navigator.locks.request(LOCK, function () { return fn(); });
      return navigator.locks.request(LOCK, { ifAvailable: true }, function (lock) {
        return lock ? fn() : { status: "busy" };
      });
    }
    return fn();
  }

  // A form's submit: send this one record now, inside the lock. The record is read again once
  // the lock is held: another tab may have sent it meanwhile (then it is not sent twice).
  // Answers like send(); a record already stored answers {status: "ok", results: [created]}.
  function sendOne(id) {
    return withLock(function () {
      return get(id).then(function (record) {
        if (!record || record.state === "photos" || record.state === "refused") {
          return { status: "ok", results: [{ id: id, status: "created" }], sentElsewhere: true };
        }
        if (record.state === "rejected") {
          return { status: "ok", results: [{ id: id, status: "rejected", errors: record.errors || {} }], sentElsewhere: true };
        }
        return update(id, { state: "sending", attempts: (record.attempts || 0) + 1 }).then(function () {
          return send([record]);
        }).then(function (answer) {
          if (answer.status !== "ok") {
            return update(id, { state: "pending", last_error: answer.status }).then(function () { return answer; });
          }
          return settle([record], answer.results).then(function () { return answer; });
        });
      });
    }, true);
  }

  // One pass: all waiting records in batches, then the photos of stored records.
  function sync() {
    return withLock(function () {
      return all().then(function (records) {
        var waiting = records.filter(function (r) { return r.state === "pending" || r.state === "sending"; });
        var outcome = { status: "ok", sent: 0 };
        var chain = Promise.resolve();
        for (var i = 0; i < waiting.length; i += BATCH) {
          (function (batch) {
            chain = chain.then(function () {
              if (outcome.status !== "ok") return;
              return Promise.all(batch.map(function (r) { return update(r.id, { state: "sending", attempts: (r.attempts || 0) + 1 }); }))
                .then(function () { return send(batch); })
                .then(function (answer) {
                  if (answer.status !== "ok") {
                    outcome = answer;
                    return Promise.all(batch.map(function (r) { return update(r.id, { state: "pending", last_error: answer.status }); }));
                  }
                  outcome.sent += batch.length;
                  return settle(batch, answer.results);
                });
            });
          })(waiting.slice(i, i + BATCH));
        }
        return chain.then(function () {
          if (outcome.status !== "ok") return outcome;
          return all().then(function (after) {
            var photoChain = Promise.resolve("ok");
            after.filter(function (r) { return r.state === "photos"; }).forEach(function (r) {
              photoChain = photoChain.then(function (state) { return state === "ok" ? uploadPhotos(r) : state; });
            });
            return photoChain.then(function (state) {
              if (state !== "ok") outcome = { status: state, sent: outcome.sent };
              return outcome;
            });
          });
        });
      }).then(function (outcome) { notify({ synced: outcome }); return outcome; });
    });
  }

  function uuid() {
    if (global.crypto && crypto.randomUUID) return crypto.randomUUID();
    // Older phone browsers: RFC 4122 version 4 from getRandomValues.
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ISO 8601 with the phone's UTC offset, e.g. 2026-11-27T18:30:00.000+08:00.
  function nowWithOffset(date) {
    var d = date || new Date();
    var offset = -d.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    var abs = Math.abs(offset);
    var local = new Date(d.getTime() + offset * 60000).toISOString().slice(0, -1);
    return local + sign + String(Math.floor(abs / 60)).padStart(2, "0") + ":" + String(abs % 60).padStart(2, "0");
  }

  global.WeiwangOutbox = {
    FORMAT: FORMAT, openDb: openDb, all: all, get: get, count: count, put: put, update: update, remove: remove,
    getPhoto: getPhoto, sendOne: sendOne, shrinkPhoto: shrinkPhoto, PHOTO_MAX_BYTES: PHOTO_MAX_BYTES, PHOTO_MAX_SIDE: PHOTO_MAX_SIDE,
    send: send, settle: settle, sync: sync, onChange: onChange, notify: notify,
    uuid: uuid, nowWithOffset: nowWithOffset, envelope: envelope, sessionEnded: sessionEnded,
  };
})(typeof self !== "undefined" ? self : this);
