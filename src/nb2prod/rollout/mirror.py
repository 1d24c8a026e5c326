"""Pair the live rows with the rows a gateway mirrored to the shadowing version.

Behind a gateway every version writes its own audit rows: the live service its answer, the
shadow's service an ``arm="shadow"`` row for the mirrored copy, both carrying the gateway's
request id as ``client_request_id``. Pairing them by that id yields the same shape the
in-process shadow writes (one row with ``shadow_version`` / ``shadow_output`` / ``shadow_score``
/ ``shadow_error``), so the comparison, the gate and the panels work unchanged whichever side
routed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from nb2prod.models import AuditEvent

__all__ = ["MIRROR_ARM", "pair_mirrored"]

MIRROR_ARM = "shadow"


def _shadow_error(mirrored: AuditEvent) -> str | None:
    if mirrored.error is not None:
        return mirrored.error
    if mirrored.fallback:  # the candidate did not answer itself (a "timeout:" reason stays a timeout)
        return mirrored.fallback_reason or "fallback"
    return None


def pair_mirrored(events: Iterable[AuditEvent], candidate_version: str) -> list[AuditEvent]:
    """Live rows joined with ``candidate_version``'s mirrored rows of the same gateway request id.

    Only live-arm rows pair (the gateway mirrors the live backend's requests); a live row
    without a mirrored twin (not sampled, or the copy was lost) is not a shadowed request. When a
    request id repeats (a retried request), each live row pairs with at most one mirrored row.
    """
    live: dict[str, list[AuditEvent]] = {}
    mirrored: dict[str, list[AuditEvent]] = {}
    for event in events:
        key = event.client_request_id
        if key is None:
            continue
        if event.arm == MIRROR_ARM and event.version_id == candidate_version:
            mirrored.setdefault(key, []).append(event)
        elif event.arm == "live" and event.shadow_version is None and event.version_id != candidate_version:
            live.setdefault(key, []).append(event)
    pairs: list[AuditEvent] = []
    for key, rows in live.items():
        for row, twin in zip(rows, mirrored.get(key, ()), strict=False):
            pairs.append(dataclasses.replace(
                row,
                shadow_version=candidate_version,
                shadow_output=None if _shadow_error(twin) else twin.output,
                shadow_score=None if _shadow_error(twin) else twin.score,
                shadow_error=_shadow_error(twin),
            ))
    pairs.sort(key=lambda e: e.ts)
    return pairs
