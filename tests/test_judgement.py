"""One judgement per metric: small samples say so, labels outrank the estimate, the widget's badge agrees with its tab."""

from __future__ import annotations

import dataclasses

from nb2prod.judgement import MIN_ROWS, judge
from nb2prod.models import ConceptDriftResult, EstimatedPerformance, MonitorReport, OperationsResult, OpsStats


def _ops(n: int, errors: float = 0.0) -> OperationsResult:
    stats = OpsStats(start=0.0, end=3600.0, n=n, version_id="v1", throughput_rps=n / 3600, latency_p50_ms=4.0, latency_p90_ms=6.0,
                     latency_p95_ms=7.0, latency_p99_ms=9.0, error_rate=errors, fallback_rate=0.0, violation_rate=0.0, override_rate=0.0)
    return OperationsResult(name="credit", window="1h", overall=stats, by_version=(stats,), timeline=())


def _concept(n_labelled: int, *, degraded: bool) -> ConceptDriftResult:
    return ConceptDriftResult(name="credit", version_id="v1", metric="accuracy", validation=0.797, higher_is_better=True, n_predictions=1000,
                              n_labelled=n_labelled, live=0.79, live_low=0.76, live_high=0.82, gap=0.007, score=0.1, degraded=degraded,
                              verdict="degraded" if degraded else "ok", windows=(), detections=(), window="1h")


def _estimated(*, degraded: bool, n: int = 1000) -> EstimatedPerformance:
    return EstimatedPerformance(name="credit", version_id="v1", validation=0.797, estimated=0.71, low=0.69, high=0.73, n=n, score=0.9,
                                degraded=degraded, verdict="degraded" if degraded else "ok", precision=None, recall=None, f1=None,
                                roc_auc=None, windows=(), metric="accuracy", window="1h")


def _report(**fields: object) -> MonitorReport:
    base = MonitorReport(name="credit", version_id="v1", window="1h", since=0.0, until=3600.0, n=1000, drift=None, concept=None,
                         fairness=None, operations=_ops(1000))
    return dataclasses.replace(base, **fields)


def test_labels_outrank_the_estimate() -> None:
    judged = judge(_report(concept=_concept(600, degraded=False), estimated=_estimated(degraded=True)))
    assert (judged["live"].state, judged["estimated"].state) == ("ok", "ok")
    assert "600 real labels" in judged["estimated"].reason
    alone = judge(_report(concept=_concept(3, degraded=False), estimated=_estimated(degraded=True)))
    assert (alone["live"].state, alone["estimated"].state) == ("insufficient", "firing")


def test_small_samples_read_not_enough_data() -> None:
    judged = judge(_report(n=7, operations=_ops(7, errors=0.5), concept=_concept(7, degraded=True), estimated=_estimated(degraded=True, n=7)))
    for key in ("live", "estimated", "errors", "fallback"):
        assert judged[key].state == "insufficient" and judged[key].value == "not enough data (n=7)", judged[key]
    assert MIN_ROWS == 30


def test_error_rate_states() -> None:
    assert [judge(_report(operations=_ops(1000, errors=e)))["errors"].state for e in (0.0, 0.01, 0.2)] == ["ok", "warn", "firing"]


def test_widget_badge_and_performance_tab_say_the_same() -> None:
    from nb2prod.widgets.monitor import STATE_COLOURS, render_sections

    parts = render_sections(_report(concept=_concept(600, degraded=False), estimated=_estimated(degraded=True)))
    assert "degraded" not in parts["performance"]  # the labels say fine, so no view says degraded
    assert parts["header"].count(STATE_COLOURS["ok"]) >= 2 and STATE_COLOURS["firing"] not in parts["header"]


def test_widget_header_names_this_versions_rows_when_others_answered_too() -> None:
    from nb2prod.widgets.monitor import render_sections

    ops = _ops(1000)
    mine, other = (dataclasses.replace(ops.overall, n=n, version_id=v) for n, v in ((599, "v1"), (401, "v0")))
    header = render_sections(_report(operations=dataclasses.replace(ops, by_version=(mine, other))))["header"]
    assert "599 predictions by this version (1000 by all versions" in header
    assert "1000 predictions," in render_sections(_report())["header"]


def test_widget_drift_tab_says_not_enough_data_for_a_handful_of_rows() -> None:
    from nb2prod.models import DriftResult, FeatureDrift
    from nb2prod.widgets.monitor import render_sections

    feature = FeatureDrift(feature="income", kind="numeric", test="ks", statistic=1.0, p_value=0.5, q_value=0.5, effect_name="psi", effect=8.0,
                           psi=8.0, drifted=False, n_reference=1000, n_current=1, missing_reference=0, missing_current=0, unseen=())
    drift = DriftResult(name="credit", version_id="v1", window="1h", n_reference=1000, n_current=1, features=(feature,), score=0.0,
                        detected=False, alpha=0.05, min_effect=0.1)
    parts = render_sections(_report(n=1, drift=drift, operations=_ops(1)))
    assert "not enough data (n=1)" in parts["drift"] and "<svg" not in parts["drift"]
