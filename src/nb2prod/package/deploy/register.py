"""Step 8, register: the new version goes live (the old one retires), or shadows the live one — one traffic transition."""

from __future__ import annotations

import contextlib
from typing import Any

from nb2prod.errors import NotFoundError
from nb2prod.models import VersionRecord
from nb2prod.package.deploy.undo import Undo
from nb2prod.rollout.transitions import TransitionRequest, plan
from nb2prod.store import Store

__all__ = ["register", "unregister"]


def register(store: Store, record: VersionRecord, *, live_id: str | None, shadow: float | None, actor: str,
             evidence: dict[str, Any], undo: Undo) -> None:
    """Add ``record`` and route traffic to it in one registry transaction, noting in ``undo`` how to take it back.

    ``live_id`` is the live version the gates compared against: if another deploy made a
    different version live meanwhile, the registration is refused (:class:`ConflictError`).
    """
    request = TransitionRequest("deploy", record.version_id, float(shadow) if shadow is not None and live_id else None,
                                actor=actor, evidence=evidence, record=record, expected_live=live_id)
    store.registry.apply(record.name, lambda snapshot: plan(snapshot, request))
    undo.unregister = lambda: unregister(store, record, previous_live=live_id)


def unregister(store: Store, record: VersionRecord, *, previous_live: str | None) -> None:
    """Take back a registration whose deploy failed afterwards: the version goes, ``previous_live`` is live again if it was."""
    request = TransitionRequest("undeploy", record.version_id, actor="nb2prod", expected_live=previous_live)
    with contextlib.suppress(NotFoundError):  # already gone
        store.registry.apply(record.name, lambda snapshot: plan(snapshot, request))
