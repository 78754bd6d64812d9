// The service worker (served at /sw.js by server/sync/pwa.py, which fills in VERSION and
// SHELL from the static files' content hashes: any change to them is a new worker).
// Shape after svgomg: a version, prefixed caches, precache on install, old caches
// deleted on activate, cache-first for versioned static files, network-first for pages.
//
// Caches:
//   weiwang-static-<VERSION>  the app shell (versioned /static URLs, /offline, /outbox)
//   weiwang-pages             the signed-in person's own pages (worklist, households, forms),
//                             listed by GET /api/offline-pages; refreshed on sign-in and after
//                             each sync (message {type: "cache-offline"}), cleared on sign-out
//                             ({type: "signed-out"}), when another person signs in, or as soon
//                             as any answer says the session was revoked (x-session-ended).
// The outbox (IndexedDB) is never touched by a cache clean-up.
"use strict";
var VERSION = "__VERSION__";
var SHELL = [/*__SHELL__*/];
var STATIC_CACHE = "weiwang-static-" + VERSION;
var PAGES_CACHE = "weiwang-pages";
var OWNER_KEY = "/__owner";
var NETWORK_TIMEOUT = 4000; // a stairwell's "lie-fi": give up on the network and use the copy

// The outbox's sync, shared with the pages (imported at start: later imports are not allowed).
importScripts(SHELL.filter(function (u) { return u.indexOf("/static/js/outbox-core.js") === 0; })[0]);

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE).then(function (cache) {
      return Promise.all(SHELL.map(function (url) {
        return fetch(url, { credentials: "same-origin", cache: "no-cache" }).then(function (response) {
          if (response.ok) return cache.put(url, response);
        });
      }));
    }).then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("weiwang-static-") === 0 && name !== STATIC_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
      // Pages kept from the last version name its static files: fetch them again with the new names.
      // Not awaited: navigations wait for activation, and the leader should not wait for ~100 pages.
      .then(function () { refreshPages().catch(function () {}); })
  );
});

function timeout(ms) {
  return new Promise(function (_, reject) { setTimeout(function () { reject(new Error("timeout")); }, ms); });
}

// A redirected response cannot answer a navigation: keep a plain copy.
function plainCopy(response) {
  return response.blob().then(function (body) {
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  });
}

function isFragmentRequest(request) {
  return request.headers.get("hx-request") && request.headers.get("hx-request-type") !== "full" &&
    !request.headers.get("hx-history-restore-request");
}

function offlineResponse() {
  return caches.open(STATIC_CACHE).then(function (cache) { return cache.match("/offline"); }).then(function (page) {
    if (!page) return new Response("offline", { status: 503, headers: { "content-type": "text/plain" } });
    return page.blob().then(function (body) {
      return new Response(body, { status: 503, headers: { "content-type": "text/html; charset=utf-8" } });
    });
  });
}

function pageKey(url) {
  var u = new URL(url);
  return u.pathname + u.search;
}

function networkFirst(request) {
  var key = pageKey(request.url);
  var network = fetch(request).then(function (response) {
    // A revoked session: the pages with personal data leave the phone (outbox-core.js).
    self.WeiwangOutbox.sessionEnded(response);
    // Keep the copy fresh, but only for pages already in the offline set (bounded).
    if (response.ok && (response.headers.get("content-type") || "").indexOf("text/html") === 0) {
      caches.open(PAGES_CACHE).then(function (cache) {
        return cache.match(key).then(function (old) {
          if (old) return plainCopy(response.clone()).then(function (copy) { return cache.put(key, copy); });
        });
      }).catch(function () {});
    }
    return response;
  });
  return Promise.race([network, timeout(NETWORK_TIMEOUT)]).catch(function () {
    return caches.open(PAGES_CACHE).then(function (cache) {
      // The exact page, else the same page without its query (a form opened with ?outbox=<id> to edit).
      return cache.match(key, { ignoreVary: true }).then(function (hit) {
        return hit || cache.match(new URL(request.url).pathname, { ignoreVary: true });
      });
    })
      .then(function (cached) {
        return cached || caches.match(key, { ignoreVary: true, cacheName: STATIC_CACHE });
      })
      .then(function (cached) { return cached || network.catch(function () { return offlineResponse(); }); });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return; // posts go to the network; the outbox handles failures
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(caches.match(request, { cacheName: STATIC_CACHE, ignoreVary: true }).then(function (hit) {
      return hit || fetch(request).then(function (response) {
        if (response.ok && url.searchParams.has("v")) {
          var copy = response.clone();
          caches.open(STATIC_CACHE).then(function (cache) { cache.put(request, copy); });
        }
        return response;
      });
    }));
    return;
  }
  if (url.pathname.indexOf("/api/") === 0 || url.pathname === "/sw.js") return;
  var accept = request.headers.get("accept") || "";
  if (request.mode !== "navigate" && accept.indexOf("text/html") < 0) return;
  if (isFragmentRequest(request)) {
    // Fragments are never kept; offline they answer nothing rather than a whole page.
    event.respondWith(fetch(request).catch(function () { return new Response("", { status: 204 }); }));
    return;
  }
  event.respondWith(networkFirst(request));
});

// ---- the person's pages, kept for a day without signal ----

var refreshing = null;
function refreshPages() {
  if (refreshing) return refreshing;
  refreshing = fetch("/api/offline-pages", { credentials: "same-origin", cache: "no-store", headers: { accept: "application/json" } })
    .then(function (response) {
      // Expired: keep what the phone has (the leader signs in again); revoked: drop it.
      if (response.status === 401) return self.WeiwangOutbox.sessionEnded(response).then(function () { return null; });
      if (!response.ok) throw new Error("offline-pages " + response.status);
      return response.json();
    })
    .then(function (list) {
      if (!list) return 0;
      return caches.open(PAGES_CACHE).then(function (cache) {
        return cache.match(OWNER_KEY).then(function (owner) { return owner ? owner.text() : null; }).then(function (ownerId) {
          // Another person signed in on this phone: their pages replace the last person's.
          var reset = ownerId !== null && ownerId !== String(list.person_id) ? caches.delete(PAGES_CACHE) : Promise.resolve();
          return reset.then(function () { return caches.open(PAGES_CACHE); });
        }).then(function (cache) {
          var wanted = {};
          list.urls.forEach(function (u) { wanted[u] = true; });
          var i = 0;
          var fetched = 0;
          function worker() {
            if (i >= list.urls.length) return Promise.resolve();
            var u = list.urls[i++];
            return fetch(u, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
              if (!response.ok) return;
              fetched++;
              return plainCopy(response).then(function (copy) { return cache.put(u, copy); });
            }).catch(function () {}).then(worker);
          }
          return Promise.all([worker(), worker(), worker(), worker()]).then(function () {
            return cache.keys();
          }).then(function (keys) {
            // Bounded: drop pages no longer in the person's list.
            return Promise.all(keys.filter(function (k) {
              var key = pageKey(k.url);
              return key !== OWNER_KEY && !wanted[key];
            }).map(function (k) { return cache.delete(k); }));
          }).then(function () {
            return cache.put(OWNER_KEY, new Response(String(list.person_id)));
          }).then(function () { return fetched; });
        });
      });
    })
    .then(function (n) {
      return self.clients.matchAll().then(function (clients) {
        clients.forEach(function (c) { c.postMessage({ type: "offline-cached", count: n }); });
        return n;
      });
    })
    .finally(function () { refreshing = null; });
  return refreshing;
}

self.addEventListener("message", function (event) {
  var msg = event.data || {};
  if (msg.type === "cache-offline") event.waitUntil(refreshPages().catch(function () {}));
  if (msg.type === "signed-out") event.waitUntil(caches.delete(PAGES_CACHE));
});

// ---- Background Sync: a page does the sending if one is open, else the worker ----

self.addEventListener("sync", function (event) {
  if (event.tag !== "outbox") return;
  event.waitUntil(self.clients.matchAll({ type: "window" }).then(function (clients) {
    if (clients.length) {
      clients[0].postMessage({ type: "sync" });
      return;
    }
    return self.WeiwangOutbox.sync().then(function (outcome) {
      if (outcome.status === "offline" || outcome.status === "error") throw new Error("retry later");
    });
  }));
});


// ---- Web Push (server/notify/push.py): show it, and a tap opens the page it names ----

self.addEventListener("push", function (event) {
  var data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data ? event.data.text() : "" }; }
  event.waitUntil(self.registration.showNotification(data.title || "微网", {
    body: data.body || "", tag: data.tag, icon: "/static/icons/icon-192.png", data: { url: data.url || "/" }
  }));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (url.origin !== self.location.origin) url = new URL("/", self.location.origin);  // only our own pages
  event.waitUntil(self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (clients) {
    for (var i = 0; i < clients.length; i++) {
      if ("navigate" in clients[i]) return clients[i].navigate(url.href).then(function (c) { return c && c.focus(); });
    }
    return self.clients.openWindow(url.href);  // network-first with the cached copy: works offline too
  }));
});
