"""The outbox shared by every offline form.

- registry.py: how an area registers a record type (`register(SyncType(...))`, `add_row`).
- service.py: storing a batch (`store_records`), and the HTML forms' way in (`store_one`).
- routes.py: POST /api/sync (the contract), PUT /api/photos/{id}, GET /photos/{id}.
- pwa.py: /sw.js, /manifest.webmanifest, /offline, /outbox, GET /api/offline-pages and
  `offline_pages(fn)` to add an area's pages to what a phone keeps.
- static/js/outbox.js (forms: data-outbox-type) and outbox-core.js (IndexedDB, sync).
"""
