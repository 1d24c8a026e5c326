"""Ingest profiles: agreement with the exact row path, replicas, replay, labels, rebuild, retention, versions."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nb2prod.api import Workspace
from nb2prod.models import AuditEvent, Feedback, Override, RegistryEvent, Traffic
from nb2prod.monitor.frames import load_audit_frame
from nb2prod.monitor.profile import BUCKET_S, LabelProfile, Profile
from nb2prod.monitor.profile_window import series_points
from nb2prod.monitor.reference import load_reference
from nb2prod.monitor.snapshot import monitor_snapshot
from nb2prod.store import Store

RANK_ERROR = 0.0133 + 1 / 2048  # KLL k=200 normalised rank error (single-sided) + reading it at 1024 quantiles
W_BOUND = 0.03  # normed Wasserstein: |profile − exact| (measured ≤ 0.02 on the example's shifts)


def _psi_bound(sketch: dict[str, Any], values: np.ndarray) -> float:
    """How far PSI can move when the window's decile shares are read from a sketch: each share is off by up to twice
    the rank error (one at each end), and each decile's term ``(c − r)·ln(c/r)`` is convex in its share, so its largest
    move is at an end of that interval. A near-empty decile amplifies it. A fixed relative bound (0.02 + 30 %) was
    exceeded in CI: credit_utilization under the economic shift reads 0.32–0.51 from profiles against 0.374 exact
    over 73 runs (KLL's compactions are random)."""
    from nb2prod.monitor.drift import _PSI_EPS, reference_shape

    grid, _, shape = reference_shape(sketch)
    ordered = np.sort(values)
    cur = np.diff(np.concatenate(([0.0], (np.searchsorted(ordered, grid, side="right") / ordered.size)[shape.cut], [1.0])))
    ref = np.clip(shape.ref_props, _PSI_EPS, None)

    def term(share: np.ndarray) -> np.ndarray:
        share = np.clip(share, _PSI_EPS, None)
        return np.asarray((share - ref) * np.log(share / ref))

    step = 2 * RANK_ERROR
    return float(np.sum(np.maximum(np.abs(term(cur - step) - term(cur)), np.abs(term(cur + step) - term(cur)))))


def _merged(store: Store, name: str) -> tuple[Profile, LabelProfile]:
    profile, labels = Profile(), LabelProfile()
    for b in store.audit.profiles.buckets(name):
        profile.merge(b.profile)
        if b.labels is not None:
            labels.merge(b.labels)
    return profile, labels


@pytest.mark.slow
@pytest.mark.parametrize("scenario", ["economic_shift", "covariate_shift"])
def test_profiles_agree_with_the_exact_row_path(seeded: Callable[..., Workspace], scenario: str) -> None:
    now = float(int(time.time() // BUCKET_S) * BUCKET_S)  # a window on bucket boundaries: both paths see the same rows
    ws = seeded(scenario=scenario, n_live=10_000, now=now, span_s=6 * 3600, fallback_rate=0.02, error_rate=0.01)
    rows = monitor_snapshot(ws.store, "credit", window="1d", until=now, source="rows")
    prof = monitor_snapshot(ws.store, "credit", window="1d", until=now)
    assert prof.source == "profiles" and rows.source == "rows"
    assert prof.n == rows.n == 10_000
    assert prof.drift is not None and rows.drift is not None
    # The same verdict on every feature whose exact effect is clear of the threshold by more than the
    # sketch's Wasserstein bound; a feature inside that band may fall either side (it did, for income).
    clear = {f.feature for f in rows.drift.features if abs(f.effect - rows.drift.min_effect) > W_BOUND}
    assert len(clear) >= len(rows.drift.features) - 2  # at most two borderline features: the check is not vacuous
    assert set(rows.drift.drifted) & clear  # some clearly drifted columns …
    assert set(prof.drift.drifted) & clear == set(rows.drift.drifted) & clear  # … found the same by both paths
    [record] = [r for r, _ in ws.store.registry.versions("credit") if r.version_id == rows.version_id]
    reference = load_reference(Path(str(record.deployment_dir)) / "reference.json")["features"]
    live = load_audit_frame(ws.store, "credit", since=now - 86400, until=now).inputs
    for exact, sketched in zip(rows.drift.features, prof.drift.features, strict=True):
        assert exact.feature == sketched.feature and exact.n_current == sketched.n_current
        if exact.kind == "numeric":
            assert abs(exact.statistic - sketched.statistic) <= RANK_ERROR, exact.feature
            assert abs(exact.effect - sketched.effect) <= W_BOUND, exact.feature
            values = live[exact.feature].dropna().to_numpy(dtype=float)
            assert abs(exact.psi - sketched.psi) <= _psi_bound(reference[exact.feature], values), exact.feature
        else:  # category counts are exact: every statistic equal
            assert (sketched.statistic, sketched.p_value, sketched.effect, sketched.psi) == pytest.approx(
                (exact.statistic, exact.p_value, exact.effect, exact.psi), rel=1e-12, abs=1e-15)
    # counts are exact: fairness, accuracy and confusion-derived figures equal
    assert prof.fairness is not None and rows.fairness is not None
    for a, b in zip(rows.fairness.attributes, prof.fairness.attributes, strict=True):
        assert a.di_ratio == b.di_ratio and a.verdict == b.verdict
        assert [(g.group, g.n, g.selection_rate, g.n_labelled, g.tpr, g.fpr, g.error_rate) for g in a.groups] == [
            (g.group, g.n, g.selection_rate, g.n_labelled, g.tpr, g.fpr, g.error_rate) for g in b.groups]
    assert prof.concept is not None and rows.concept is not None
    assert (prof.concept.metric, prof.concept.n_labelled, prof.concept.live) == (rows.concept.metric, rows.concept.n_labelled, rows.concept.live)
    assert prof.estimated is not None and rows.estimated is not None and prof.estimated.estimated is not None
    assert prof.estimated.n == rows.estimated.n
    assert abs(prof.estimated.estimated - rows.estimated.estimated) <= 1e-3  # scores binned at 1/4096
    o_rows, o_prof = rows.operations.overall, prof.operations.overall
    assert (o_prof.error_rate, o_prof.fallback_rate, o_prof.violation_rate, o_prof.override_rate) == (
        o_rows.error_rate, o_rows.fallback_rate, o_rows.violation_rate, o_rows.override_rate)
    assert o_prof.error_rate > 0 and o_prof.fallback_rate > 0 and o_prof.override_rate > 0
    latency = np.sort(load_audit_frame(ws.store, "credit", until=now).meta["latency_ms"].to_numpy(dtype=float))
    for level, value in ((0.5, o_prof.latency_p50_ms), (0.95, o_prof.latency_p95_ms), (0.99, o_prof.latency_p99_ms)):
        assert value is not None
        rank = np.searchsorted(latency, value, side="right") / latency.size  # where the sketch's quantile falls in the exact data
        assert abs(rank - level) <= RANK_ERROR, level


def _event(rid: str, ts: float, *, version: str = "credit-v1", output: int = 1, purpose: str = "car", age: float = 30.0) -> AuditEvent:
    return AuditEvent(request_id=rid, name="credit", version_id=version, ts=ts, inputs={"age": age, "purpose": purpose},
                      output=output, score=0.7 if output else 0.2, latency_ms=5.0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nb2prod.db'}"
    else:
        url = os.environ.get("NB2PROD_TEST_PG_URL", "")
        if not url:
            pytest.skip("NB2PROD_TEST_PG_URL not set (.ci/run starts a PostgreSQL server and sets it)")
    s = Store.open(url)
    if request.param == "postgres":
        import sqlalchemy as sa

        from nb2prod.store.tables import metadata

        with s.engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(sa.delete(table))
    yield s
    s.close()


def test_replayed_rows_are_not_profiled_twice(store: Store) -> None:
    now = time.time()
    events = [_event(f"r{i}", now - i, output=i % 2) for i in range(50)]
    store.audit.write(events)
    store.audit.write(events[:30])  # a spool replayed after a crash: rows already stored
    store.audit.write([*events[40:], _event("r-new", now, output=1)])
    profile, _ = _merged(store, "credit")
    assert profile.n == 51 == store.audit.count("credit")
    assert profile.decisions == {"0": 25, "1": 26}
    assert profile.columns["purpose"].categories == {"car": 51}


def test_labels_fold_into_their_predictions_bucket_idempotently(store: Store) -> None:
    base = float(int(time.time() // BUCKET_S) * BUCKET_S) - 10 * BUCKET_S
    store.audit.add_feedback([Feedback(request_id="early", label=0)])  # the label arrives before its row is stored
    store.audit.write([_event("a", base + 1, output=1), _event("b", base + 2 * BUCKET_S, output=0), _event("early", base + 3, output=1)])
    store.audit.add_feedback([Feedback(request_id="a", label=1), Feedback(request_id="b", label=1)])
    store.audit.add_feedback([Feedback(request_id="a", label=1)])  # the same label again: nothing changes
    store.audit.add_feedback([Feedback(request_id="b", label=0, outcome=2.5)])  # corrected label replaces the first
    store.audit.add_feedback([Feedback(request_id="unknown", label=1)])  # no such prediction: not folded anywhere
    store.audit.add_override(Override(request_id="a", decision=0, operator="ana", reason="known client"))
    store.audit.add_override(Override(request_id="a", decision=0, operator="ana", reason="again"))  # one overridden prediction
    buckets = {b.bucket: b for b in store.audit.profiles.buckets("credit")}
    first, third = buckets[int(base)], buckets[int(base) + 2 * BUCKET_S]
    assert first.labels is not None and third.labels is not None
    assert first.labels.confusion == {("1", "1"): 1, ("0", "1"): 1} and first.labels.overridden == 1
    assert third.labels.confusion == {("0", "0"): 1} and third.labels.labelled == 1
    assert (third.labels.outcomes, third.labels.outcome_sum) == (1, 2.5)
    assert first.labels.groups["purpose"] == {("car", "1", "1"): 1, ("car", "0", "1"): 1}


def test_two_writer_processes_at_once_merge(store: Store) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    now = time.time()
    code = (
        "import sys, time\n"
        "from nb2prod.store import Store\n"
        "from nb2prod.models import AuditEvent\n"
        "s = Store.open(sys.argv[1]); w = int(sys.argv[2]); now = float(sys.argv[3])\n"
        "for batch in range(10):\n"
        "    s.audit.write([AuditEvent(request_id=f'w{w}-{batch}-{i}', name='credit', version_id='credit-v1', ts=now - i * 0.01,"
        " inputs={'age': float(i), 'purpose': 'car' if i % 2 else 'home'}, output=(i + w) % 2, score=0.5, latency_ms=float(i))"
        " for i in range(100)])\n"
        "s.close()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, url, str(w), str(now)]) for w in (1, 2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    rows = store.audit.profiles.storage("credit")["rows"]
    assert rows >= 2  # one profile row per writer (and bucket): the replicas never shared a row
    profile, _ = _merged(store, "credit")
    assert profile.n == 2000 == store.audit.count("credit")
    assert profile.decisions == {"0": 1000, "1": 1000}
    assert profile.columns["purpose"].categories == {"car": 1000, "home": 1000}
    assert profile.columns["age"].count == 2000 and profile.latency.n == 2000


def test_rebuild_recomputes_profiles_and_retention_keeps_them(store: Store) -> None:
    now = time.time()
    store.audit.write([_event(f"r{i}", now - 3600 + i, output=i % 2, purpose="car" if i % 3 else "home") for i in range(120)])
    store.audit.add_feedback([Feedback(request_id=f"r{i}", label=1) for i in range(0, 120, 4)])
    before, labels_before = _merged(store, "credit")
    import sqlalchemy as sa

    from nb2prod.store import tables as t

    with store.engine.begin() as conn:  # a store written before profiles existed
        conn.execute(sa.delete(t.profiles))
        conn.execute(sa.delete(t.label_profiles))
    assert _merged(store, "credit")[0].n == 0
    assert store.audit.profiles.rebuild("credit") == 120
    after, labels_after = _merged(store, "credit")
    assert (after.n, after.decisions, after.columns["purpose"].categories) == (before.n, before.decisions, before.columns["purpose"].categories)
    assert labels_after.confusion == labels_before.confusion and labels_after.labelled == 30
    assert store.audit.profiles.delete_audit_before(now + 1, name="credit") == 120
    assert store.audit.count("credit") == 0
    assert _merged(store, "credit")[0].n == 120  # monitoring history survives the audit retention


def test_report_covers_the_live_version_and_names_the_others(seeded: Callable[..., Workspace]) -> None:
    ws = seeded(n_live=300)
    now = time.time()
    ws.store.audit.write([_event(f"old{i}", now - 60 + i * 0.1, version="credit-v0", output=1) for i in range(40)])
    ws.store.registry.set_traffic(Traffic(name="credit", live="credit-v1"), RegistryEvent("credit", "promote", "credit-v1", "me", "go"))
    report = ws.monitor("credit", window="1d")
    assert report.version_id == "credit-v1" and report.n == 300
    assert report.versions == {"credit-v1": 300, "credit-v0": 40}
    assert any("credit-v0 (40)" in note for note in report.notes)
    assert {s.version_id: s.n for s in report.operations.by_version} == {"credit-v0": 40, "credit-v1": 300}


def test_series_width_follows_the_window(seeded: Callable[..., Workspace]) -> None:
    assert series_points(86400) == 24 and series_points(3600) == 12 and 24 <= series_points(7 * 86400) <= 30
    ws = seeded(n_live=3000, span_s=86400 * 0.99)
    series = ws.drift_series("credit", window="1d")
    assert 22 <= len(series) <= 24  # a real time series of hourly points (an hour under 30 rows is left out), not one dot
    assert [s.since for s in series] == sorted(s.since for s in series)
    assert 2900 <= sum(s.n_current for s in series) <= 3000  # only a partly covered first point may fall under 30 rows


def test_cli_rebuilds_profiles_and_prunes_audit_rows(seeded: Callable[..., Workspace], capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import sqlalchemy as sa

    from nb2prod.cli import main
    from nb2prod.store import tables as t

    ws = seeded(n_live=400)
    home = str(ws.settings.home)
    with ws.store.engine.begin() as conn:  # as if written before profiles existed
        conn.execute(sa.delete(t.profiles))
        conn.execute(sa.delete(t.label_profiles))
        conn.execute(sa.delete(t.profile_rollups))
    capsys.readouterr()
    assert main(["--home", home, "profiles", "rebuild", "credit", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["folded"] == 400
    assert ws.monitor("credit", window="1d").n == 400
    assert main(["--home", home, "profiles", "prune-audit"]) == 2  # no retention given: a usage error, nothing deleted
    assert ws.store.audit.count("credit") == 400
    assert main(["--home", home, "profiles", "prune-audit", "--older-than", "1s", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["deleted"] == 400
    assert ws.store.audit.count("credit") == 0
    assert ws.monitor("credit", window="1d").n == 400  # monitoring history survives


def test_hour_rollups_are_rerolled_when_late_rows_or_labels_arrive(store: Store) -> None:
    hour = float(int(time.time() // 3600) * 3600) - 3 * 3600  # a whole past hour
    store.audit.write([_event(f"h{i}", hour + i * 30, output=i % 2) for i in range(100)])
    rolled = store.audit.profiles.buckets("credit", since=hour, until=hour + 3600, rollup=True)
    assert [(b.bucket, b.width, b.profile.n) for b in rolled] == [(int(hour), 3600, 100)]
    assert store.audit.profiles.buckets("credit", since=hour, until=hour + 3600, rollup=True)[0].profile.n == 100  # stored, reused
    store.audit.write([_event("late", hour + 1800, output=1)])  # a spool replayed late into that hour
    store.audit.add_feedback([Feedback(request_id="h3", label=1)])
    again = store.audit.profiles.buckets("credit", since=hour, until=hour + 3600, rollup=True)
    assert [(b.width, b.profile.n) for b in again] == [(3600, 101)]
    assert again[0].labels is not None and again[0].labels.confusion == {("1", "1"): 1}
    minutes = store.audit.profiles.buckets("credit", since=hour, until=hour + 3600)
    assert len(minutes) == 50 and sum(b.profile.n for b in minutes) == 101  # the minute profiles stay the record
