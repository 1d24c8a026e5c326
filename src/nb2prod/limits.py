"""Length limits shared by the service's API and the store's columns: one definition, so a value
the API accepts always fits its column (PostgreSQL refuses an over-long string with an error)."""

from __future__ import annotations

__all__ = ["ACTOR_LENGTH", "REQUEST_ID_LENGTH", "TEXT_LENGTH"]

#: a request id (the service's own, or a caller's stored beside it)
REQUEST_ID_LENGTH = 64
#: who did something: a feedback ``source``, an override ``operator``, a history event's actor
ACTOR_LENGTH = 128
#: free text held in JSON or TEXT columns: text features, routing keys, override reasons
TEXT_LENGTH = 256
