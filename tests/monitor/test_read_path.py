"""The read path: one profile read per dashboard refresh, a decode cache that is never stale, the canary from profiles."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from nb2prod.models import AuditEvent
from nb2prod.monitor.profile import BUCKET_S
from nb2prod.monitor.snapshot import drift_series, monitor_snapshot, monitor_with_series
from nb2prod.rollout.canary import canary_evidence, canary_evidence_from_profiles, judge_canary


def _plain(value: Any) -> Any:
    data = value.to_dict() if hasattr(value, "to_dict") else dataclasses.asdict(value)
    data.pop("elapsed_ms", None)
    return data


def _same_drift(a: Any, b: Any) -> None:
    """Equal up to the sketches' randomness: KLL merges compact at random, so two merges differ within the rank error."""
    assert (a.n_current, a.since, a.until) == (b.n_current, b.since, b.until)
    for x, y in zip(a.features, b.features, strict=True):
        assert x.feature == y.feature and x.n_current == y.n_current
        assert abs(x.effect - y.effect) <= 0.06  # each within the documented 0.03 of the exact value
        if abs(x.effect - a.min_effect) > 0.06 and (x.q_value < 1e-3 or x.q_value > 0.2):
            assert x.drifted == y.drifted, x.feature


def test_one_read_gives_the_report_and_the_series_of_two_calls(seeded: Any) -> None:
    now = time.time()
    ws = seeded(scenario="covariate_shift", n_live=3000, now=now, span_s=3000.0)
    report, series = monitor_with_series(ws.store, "credit", window="1h", points=12, until=now)
    alone = monitor_snapshot(ws.store, "credit", window="1h", n_windows=12, until=now)
    points = drift_series(ws.store, "credit", window="1h", points=12, until=now)
    assert (report.n, report.versions, report.window, report.since) == (alone.n, alone.versions, alone.window, alone.since)
    assert report.drift is not None and alone.drift is not None and report.drift.drifted  # the shift is there
    _same_drift(report.drift, alone.drift)
    assert [(w.start, w.end, w.n) for w in report.drift_timeline] == [(w.start, w.end, w.n) for w in alone.drift_timeline]
    assert len(series) == len(points) >= 10
    for mine, theirs in zip(series, points, strict=True):
        _same_drift(mine, theirs)
    assert [w.value for w in report.drift_timeline if w.value is not None] == [p.score for p in series]  # one computation
    exact = ("n", "error_rate", "fallback_rate", "violation_rate", "override_rate", "throughput_rps")
    assert [getattr(report.operations.overall, k) for k in exact] == [getattr(alone.operations.overall, k) for k in exact]
    assert _plain(report.fairness) == _plain(alone.fairness)  # exact counts
    assert report.concept is not None and alone.concept is not None and report.concept.live == alone.concept.live


def test_a_changed_bucket_is_read_again_not_from_the_cache(seeded: Any) -> None:
    now = time.time()
    ws = seeded(scenario="none", n_live=500, now=now, span_s=600.0)
    first = monitor_snapshot(ws.store, "credit", window="1h", until=now + 1)
    again = monitor_snapshot(ws.store, "credit", window="1h", until=now + 1)  # served from decoded profiles
    assert again.n == first.n == 500
    ts = now - 30  # the same minute buckets as rows already read
    extra = [AuditEvent(request_id=f"late-{i}", name="credit", version_id="credit-v1", ts=ts + i * 1e-3,
                        inputs={"age": 30 + i % 5, "purpose": "car"}, output=1, score=0.9, latency_ms=5.0)
             for i in range(40)]
    ws.store.audit.write(extra)
    after = monitor_snapshot(ws.store, "credit", window="1h", until=now + 1)
    assert after.n == 540
    assert after.operations.overall.n == 540


def _canary_rows(now: float) -> list[AuditEvent]:
    rng = np.random.default_rng(3)
    rows = []
    for i in range(600):
        canary = i % 3 == 0
        failed = canary and rng.random() < 0.04
        output = int(rng.random() < 0.5)
        shadow = None if not canary or failed or rng.random() < 0.1 else (output if rng.random() < 0.8 else 1 - output)
        rows.append(AuditEvent(
            request_id=f"c{i}", name="credit", version_id="credit-v2" if canary else "credit-v1", ts=now - 1800 + i * 2.5,
            inputs={"age": 20 + i % 50, "purpose": "car"}, output=None if failed else output, score=None if failed else 0.5,
            latency_ms=float(rng.gamma(2.0, 20.0)), fallback=bool(canary and rng.random() < 0.05), error="boom" if failed else None,
            arm="canary" if canary else "live", shadow_version="credit-v1" if canary else None,
            shadow_output=shadow, shadow_error="timeout: late" if canary and shadow is None and not failed else None,
        ))
    return rows


def test_canary_evidence_from_profiles_matches_the_rows(seeded: Any) -> None:
    now = time.time()
    ws = seeded(scenario="none", n_live=10, now=now - 4000, span_s=60.0)  # registers credit-v1; its rows are outside the window
    rows = _canary_rows(now)
    ws.store.audit.write(rows)
    since = rows[0].ts
    exact = canary_evidence(rows, "credit-v2")
    merged = canary_evidence_from_profiles(ws.store, "credit", "credit-v2", since)
    assert (merged.n, merged.total, merged.errors, merged.fallbacks, merged.compared, merged.diverged) == (
        exact.n, exact.total, exact.errors, exact.fallbacks, exact.compared, exact.diverged)
    assert exact.n == 200 and exact.errors > 0 and exact.diverged > 0
    latencies = np.sort([r.latency_ms for r in rows if r.arm == "canary"])
    rank = np.searchsorted(latencies, merged.latency_p99_ms) / latencies.size
    assert abs(rank - 0.99) <= 0.0133 + 1 / latencies.size  # KLL k=200 rank error
    verdicts = [judge_canary(e, name="credit", canary_version="credit-v2") for e in (exact, merged)]
    assert verdicts[0].verdict == verdicts[1].verdict == "rollback"
    assert verdicts[0].reasons[0] == verdicts[1].reasons[0]  # the error rate, exactly
    # a bucket older than ``since`` is not the canary's
    later = canary_evidence_from_profiles(ws.store, "credit", "credit-v2", since + 30 * BUCKET_S)
    assert later.n < merged.n
