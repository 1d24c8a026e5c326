"""The routing → gateway plan: weights, mirror, refusals."""

from __future__ import annotations

import random

import pytest

from nb2prod.errors import InvalidInputError
from nb2prod.models import Traffic, VersionRecord, VersionState
from nb2prod.rollout.route_plan import route_plan, service_name
from nb2prod.rollout.routing import route_request

LIVE, CAN, SHA, CTL = "credit-v1", "credit-v2", "credit-v3", "credit-v0"


def rec(version_id: str) -> VersionRecord:
    return VersionRecord(version_id=version_id, name="credit", created_at="2026-12-01", model_hash="h")


VERSIONS = [rec(v) for v in (LIVE, CAN, SHA, CTL)]


def test_live_only_is_one_backend_at_full_weight() -> None:
    plan = route_plan(Traffic(name="credit", live=LIVE), VERSIONS)
    assert [(b.version_id, b.arm, b.weight) for b in plan.backends] == [(LIVE, "live", 100)]
    assert plan.weight_total == 100 and plan.mirror is None
    assert plan.versions == (LIVE,)


def test_canary_and_control_split_in_whole_percent() -> None:
    traffic = Traffic(name="credit", live=LIVE, canary=CAN, canary_percent=10, control=CTL, control_percent=5)
    plan = route_plan(traffic, VERSIONS)
    assert {b.arm: b.weight for b in plan.backends} == {"live": 85, "canary": 10, "control": 5}
    canary = plan.backend("canary")
    assert canary is not None and canary.service == CAN
    assert sum(b.weight for b in plan.backends) == plan.weight_total == 100


def test_fractional_shares_use_hundredths_and_sum_exactly() -> None:
    traffic = Traffic(name="credit", live=LIVE, canary=CAN, canary_percent=2.5, control=CTL, control_percent=1 / 3)
    plan = route_plan(traffic, VERSIONS)
    assert plan.weight_total == 10000
    weights = {b.arm: b.weight for b in plan.backends}
    assert sum(weights.values()) == 10000
    assert weights["canary"] == 250 and weights["control"] == 33


def test_shares_match_in_process_routing() -> None:
    """The gateway's weights are the shares the in-process router gives each arm."""
    traffic = Traffic(name="credit", live=LIVE, canary=CAN, canary_percent=20, control=CTL, control_percent=10)
    plan = route_plan(traffic, VERSIONS)
    rng = random.Random(7)
    n = 20000
    counts: dict[str, int] = {}
    for _ in range(n):
        arm = route_request(traffic, rng=rng).arm
        counts[arm] = counts.get(arm, 0) + 1
    for b in plan.backends:
        p = b.weight / plan.weight_total
        sd = (p * (1 - p) / n) ** 0.5
        assert abs(counts[b.arm] / n - p) < 5 * sd


def test_shadow_is_a_mirror_of_live_requests_with_its_percent() -> None:
    plan = route_plan(Traffic(name="credit", live=LIVE, shadow=SHA, shadow_percent=25), VERSIONS)
    assert plan.mirror is not None
    assert (plan.mirror.version_id, plan.mirror.percent, plan.mirror.source_version) == (SHA, 25, LIVE)
    assert plan.versions == (LIVE, SHA)


def test_zero_shares_give_no_backend_and_no_mirror() -> None:
    traffic = Traffic(name="credit", live=LIVE, canary=CAN, canary_percent=0, shadow=SHA, shadow_percent=0)
    plan = route_plan(traffic, VERSIONS)
    assert [b.arm for b in plan.backends] == ["live"] and plan.mirror is None


def test_full_canary_leaves_live_without_weight() -> None:
    plan = route_plan(Traffic(name="credit", live=LIVE, canary=CAN, canary_percent=100), VERSIONS)
    assert [(b.arm, b.weight) for b in plan.backends] == [("canary", 100)]


def test_no_live_version_is_refused_with_a_fix() -> None:
    with pytest.raises(InvalidInputError, match="no live version") as info:
        route_plan(Traffic(name="credit"), VERSIONS)
    assert "promote" in (info.value.fix or "")


def test_unknown_and_retired_versions_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="not registered"):
        route_plan(Traffic(name="credit", live="credit-v9"), VERSIONS)
    pairs = [(rec(LIVE), VersionState.LIVE), (rec(SHA), VersionState.RETIRED)]
    with pytest.raises(InvalidInputError, match="retired"):
        route_plan(Traffic(name="credit", live=LIVE, shadow=SHA, shadow_percent=10), pairs)


def test_shares_over_100_are_refused() -> None:
    traffic = Traffic(name="credit", live=LIVE, canary=CAN, canary_percent=80, control=CTL, control_percent=30)
    with pytest.raises(InvalidInputError, match="exceed 100"):
        route_plan(traffic, VERSIONS)


def test_service_names_are_dns_labels() -> None:
    assert service_name("credit-v20261123t170102-3f9a1c") == "credit-v20261123t170102-3f9a1c"
    long_id = "a" * 40 + "-v20261123t170102-3f9a1c"
    name = service_name(long_id)
    assert len(name) <= 63 and name != service_name("a" * 40 + "-v20261123t170102-3f9a1d")
    assert service_name("7_Up").startswith("v-7-up")
