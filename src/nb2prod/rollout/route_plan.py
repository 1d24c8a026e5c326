"""A deployment's routing as a gateway sees it: weighted backends and a mirrored shadow.

In-process routing (:mod:`nb2prod.rollout.routing`) sends the control slice first, then the
canary slice, the rest to the live version, and shadows a share of the *live* requests. A
gateway (a Kubernetes Gateway API ``HTTPRoute``, or nginx on one machine) expresses the same
split as weighted backends plus a request mirror. :func:`route_plan` computes that once, as
a pure value, so every renderer (HTTPRoute, nginx) agrees on the numbers.

Weights are integers because gateways take integers: they sum to 100 when every share is a
whole percent, else to 10000 (hundredths of a percent), split by largest remainder so the
sum is exact.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nb2prod.errors import InvalidInputError
from nb2prod.models import Traffic, VersionRecord, VersionState

__all__ = ["Backend", "Mirror", "RoutePlan", "route_plan", "service_name"]

ARMS = ("live", "canary", "control")
MAX_LABEL = 63  # DNS-1035 label: a Kubernetes Service name, an nginx upstream name


@dataclass(frozen=True, slots=True)
class Backend:
    """One version that answers requests: its arm, its Service name and its share."""

    version_id: str
    arm: str  # "live" | "canary" | "control"
    service: str
    percent: float
    weight: int  # integer share; all backends' weights sum to ``RoutePlan.weight_total``


@dataclass(frozen=True, slots=True)
class Mirror:
    """The shadowing version: a copy of ``percent`` % of the requests the live backend answers."""

    version_id: str
    service: str
    percent: float
    source_version: str  # the live version whose requests are copied


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """Weighted backends (sum of weights = ``weight_total``) and an optional mirror."""

    deployment: str
    backends: tuple[Backend, ...]
    mirror: Mirror | None
    weight_total: int

    @property
    def versions(self) -> tuple[str, ...]:
        """Every version the gateway sends requests to (backends first, then the mirror), no repeats."""
        ids = [b.version_id for b in self.backends]
        if self.mirror is not None and self.mirror.version_id not in ids:
            ids.append(self.mirror.version_id)
        return tuple(ids)

    def backend(self, arm: str) -> Backend | None:
        return next((b for b in self.backends if b.arm == arm), None)


def service_name(version_id: str) -> str:
    """A DNS-1035 label for ``version_id``: the id itself when it fits, else a cut plus a short hash.

    Version ids are ``<name>-v<timestamp>-<hex>`` (lower case, start with a letter), at most 64
    characters: one too many for a label in the worst case, so long ids keep their unique tail.
    """
    label = re.sub(r"[^a-z0-9-]+", "-", version_id.lower()).strip("-")
    if not label or not label[0].isalpha():
        label = f"v-{label}".rstrip("-")
    if label == version_id and len(label) <= MAX_LABEL:
        return label
    digest = hashlib.sha256(version_id.encode()).hexdigest()[:8]
    return f"{label[: MAX_LABEL - len(digest) - 1].rstrip('-')}-{digest}"


def _weights(percents: list[float]) -> tuple[list[int], int]:
    """Integer weights proportional to ``percents`` (which sum to 100), summing exactly to the total."""
    total = 100 if all(float(p).is_integer() for p in percents) else 10000
    raw = [p * total / 100.0 for p in percents]
    floors = [math.floor(r + 1e-9) for r in raw]
    short = total - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:short]:
        floors[i] += 1
    return floors, total


def _known(versions: Iterable[VersionRecord | tuple[VersionRecord, VersionState]]) -> dict[str, VersionState | None]:
    known: dict[str, VersionState | None] = {}
    for item in versions:
        record, state = item if isinstance(item, tuple) else (item, None)
        known[record.version_id] = state
    return known


def route_plan(
    routing: Traffic, versions: Iterable[VersionRecord | tuple[VersionRecord, VersionState]] | Mapping[str, VersionRecord]
) -> RoutePlan:
    """The gateway plan for ``routing`` (the store's :class:`~nb2prod.models.Traffic` of one deployment).

    ``versions`` are the deployment's version records (or ``(record, state)`` pairs, as
    ``Registry.versions`` returns them); every version the routing names must be among them
    and none may be retired. Shares of 0 % give no backend; a shadow at 0 % gives no mirror.
    Raises :class:`InvalidInputError` when the routing has no live version or names an unknown
    or retired version.
    """
    known = _known(versions.values() if isinstance(versions, Mapping) else versions)
    name = routing.name
    if not routing.live:
        raise InvalidInputError(
            f"deployment {name!r} has no live version: nothing to route to",
            fix=f"promote a version first: nb2prod promote {name}:VERSION",
        )
    shares = {
        "control": routing.control_percent if routing.control else 0.0,
        "canary": routing.canary_percent if routing.canary else 0.0,
    }
    for arm, pct in shares.items():
        if not 0.0 <= pct <= 100.0:
            raise InvalidInputError(f"deployment {name!r}: {arm} share {pct} is not a percentage", fix="set a share between 0 and 100")
    if shares["control"] + shares["canary"] > 100.0 + 1e-9:
        raise InvalidInputError(
            f"deployment {name!r}: control {shares['control']} % + canary {shares['canary']} % exceed 100 %",
            fix="lower the canary or control share",
        )
    by_arm = {"live": routing.live, "canary": routing.canary, "control": routing.control}
    percents = {"live": max(0.0, 100.0 - shares["control"] - shares["canary"]), **shares}
    chosen = [arm for arm in ARMS if by_arm[arm] and percents[arm] > 0.0]
    for arm in ARMS:
        _check(name, by_arm[arm], known, arm)
    weights, total = _weights([percents[arm] for arm in chosen])
    merged: dict[str, Backend] = {}
    for arm, weight in zip(chosen, weights, strict=True):
        version = by_arm[arm]
        assert version is not None
        if version in merged:  # the same version named in two arms answers both shares under its first arm
            prev = merged[version]
            merged[version] = Backend(version, prev.arm, prev.service, prev.percent + percents[arm], prev.weight + weight)
        else:
            merged[version] = Backend(version, arm, service_name(version), percents[arm], weight)
    mirror = None
    if routing.shadow and routing.shadow != routing.live and routing.shadow_percent > 0.0:
        _check(name, routing.shadow, known, "shadow")
        pct = min(100.0, float(routing.shadow_percent))
        mirror = Mirror(routing.shadow, service_name(routing.shadow), pct, routing.live)
    return RoutePlan(name, tuple(merged.values()), mirror, total)


def _check(name: str, version: str | None, known: dict[str, VersionState | None], arm: str) -> None:
    if version is None:
        return
    if version not in known:
        raise InvalidInputError(
            f"deployment {name!r}: the {arm} version {version} is not registered",
            fix=f"list the versions with: nb2prod versions {name}",
        )
    if known[version] in (VersionState.RETIRED, VersionState.REFUSED):
        raise InvalidInputError(
            f"deployment {name!r}: the {arm} version {version} is {known[version]}, a gateway cannot route to it",
            fix=f"roll back or promote another version: nb2prod rollback {name}",
        )
