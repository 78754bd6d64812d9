"""The outbox shared by every offline form.

- registry.py: how an area declares a record type (`SyncType(...)` in its `SYNC_TYPES`, `add_row`);
  server/app.py lists every area's types and `create_app` installs them.
- service.py: storing a batch (`store_records`), and the HTML forms' way in (`store_one`).
- routes.py: POST /api/sync (the contract), PUT /api/photos/{id}, GET /photos/{id}.
- pwa.py: /sw.js, /manifest.webmanifest, /offline, /outbox, GET /api/offline-pages and
  each area's `OFFLINE_PAGES` providers (listed in server/app.py) say what a phone keeps.
- static/js/outbox.js (forms: data-outbox-type) and outbox-core.js (IndexedDB, sync).
"""
