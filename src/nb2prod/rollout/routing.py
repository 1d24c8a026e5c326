"""Which version serves a request: live, canary or control — sticky per request key.

A request key (customer id, session id…) always lands in the same arm while the shares stay
the same, so one customer never flips between models mid-conversation; without a key the
arm is drawn at random. Shadowing is decided separately (the candidate runs beside the
live answer, off the response path) for a sampled share of requests.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from nb2prod.models import Traffic

__all__ = ["Route", "bucket", "route_request"]


@dataclass(frozen=True, slots=True)
class Route:
    """The arm and version that answer a request, and the version shadowing it (if any)."""

    arm: str  # "live" | "canary" | "control"
    version_id: str
    shadow_version: str | None


def bucket(key: str, salt: str = "") -> float:
    """A stable position in [0, 100) for ``key`` (SHA-256, so uniform and unguessable)."""
    digest = hashlib.sha256(f"{salt}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * 100.0


def route_request(traffic: Traffic, key: str | None = None, *, rng: random.Random | None = None) -> Route:
    """Route one request under ``traffic``. The control slice comes first, then the canary slice.

    Raises ``ValueError`` when the deployment has no live version.
    """
    if not traffic.live:
        raise ValueError(f"deployment {traffic.name!r} has no live version")
    draw = bucket(key, traffic.name) if key is not None else (rng or random).random() * 100.0
    arm, version = "live", traffic.live
    if traffic.control and draw < traffic.control_percent:
        arm, version = "control", traffic.control
    elif traffic.canary and draw < traffic.control_percent + traffic.canary_percent:
        arm, version = "canary", traffic.canary
    shadow = None
    if arm == "live" and traffic.shadow and traffic.shadow != version:
        shadow_draw = bucket(key, traffic.name + "/shadow") if key is not None else (rng or random).random() * 100.0
        shadow = traffic.shadow if shadow_draw < traffic.shadow_percent else None
    elif arm == "canary":
        shadow = traffic.live  # the live model shadows canary requests, so divergence is measured on them too
    return Route(arm=arm, version_id=version, shadow_version=shadow)
