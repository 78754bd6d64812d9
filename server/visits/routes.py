"""Door-to-door pages: the worklist, the visit and work-log forms, the tally."""
from __future__ import annotations

import server.visits.records  # noqa: F401  (registers the record types with the outbox)

VISITS_HANDLERS: list = []
