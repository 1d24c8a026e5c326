"""Totals of one arm of one version since a moment, from the merged profiles (the canary check's evidence).

Cost follows the canary's age in buckets (whole past hours as rollups), not its traffic. The bucket
holding ``since`` counts whole: a row of the same version on the same arm earlier in that minute
(a previous canary of the very same version, stopped in that minute) would count too.
"""

from __future__ import annotations

from dataclasses import dataclass

from nb2prod.store.profiles import ProfileStore

__all__ = ["ArmTotals", "arm_totals"]


@dataclass(frozen=True)
class ArmTotals:
    """Counts of ``version_id``'s rows on ``arm``; ``total``: every row of the deployment in the same buckets."""

    version_id: str
    arm: str
    n: int
    total: int
    errors: int
    fallbacks: int
    latency_p99_ms: float | None  # from the KLL sketch: within its rank error (~1.3 %)
    compared: int  # rows with both the arm's and the shadowing version's decision
    disagree: int


def arm_totals(
    profiles: ProfileStore, name: str, *, version_id: str, arm: str, since: float | None, until: float | None = None
) -> ArmTotals:
    """Merge the profiles of ``name`` from ``since``: ``version_id`` on ``arm``, and everything for the share."""
    from nb2prod.monitor.profile import Profile

    mine, total = Profile(), 0
    for item in profiles.buckets(name, since=since, until=until, with_labels=False, rollup=True):
        if item.arm != "shadow":  # a gateway's mirrored copies are not traffic: the share is of answered requests
            total += item.profile.n
        if item.version_id == version_id and item.arm == arm:
            mine.merge(item.profile)
    p99 = None
    if mine.latency is not None and not mine.latency.is_empty():
        p99 = float(mine.latency.get_quantile(0.99))
    return ArmTotals(
        version_id=version_id, arm=arm, n=mine.n, total=total, errors=mine.errors, fallbacks=mine.fallbacks,
        latency_p99_ms=p99, compared=int(mine.shadow.get("compared", 0)), disagree=int(mine.shadow.get("disagree", 0)),
    )
