"""What a traffic transition reads and writes: a deployment's registry state, and the change to apply.

The transitions themselves (pure functions) live in :mod:`nb2prod.rollout.transitions`; the
registry only reads a :class:`RegistrySnapshot` and writes a :class:`Change` in one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from nb2prod.models import RegistryEvent, Traffic, VersionRecord, VersionState

__all__ = ["LIVE_ACTIONS", "Change", "RegistrySnapshot"]

LIVE_ACTIONS = ("deploy", "promote", "rollback")  # events whose version_id is the live version afterwards


@dataclasses.dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """One deployment as a transition sees it: routing, every version's state, and who was live in turn."""

    name: str
    traffic: Traffic
    states: Mapping[str, VersionState]
    lives: tuple[str, ...] = ()  # versions made live (deploy, promote, rollback), oldest first


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """The outcome of a transition: the new routing, the versions whose state changes, the event saying why.

    ``added`` is a version this change registers (a deploy); ``removed`` one it deletes (a deploy undone).
    """

    traffic: Traffic
    states: Mapping[str, VersionState]
    event: RegistryEvent
    added: VersionRecord | None = None
    removed: str | None = None
