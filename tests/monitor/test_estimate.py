"""Accuracy estimated from calibrated scores, before labels arrive (confidence-based estimation)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nb2prod.models import AlertRule
from nb2prod.monitor.estimate import calibrated, estimate_accuracy, estimate_roc_auc


def test_each_decision_is_right_with_its_calibrated_probability():
    p = np.array([0.9, 0.1, 0.6, 0.3])
    value, low, high = estimate_accuracy(p, np.array([True, False, True, True]))
    assert value == pytest.approx((0.9 + 0.9 + 0.6 + 0.3) / 4) and low < value < high
    curve = {"scores": [0.2, 0.5, 0.8], "rates": [0.1, 0.4, 0.9]}
    assert calibrated(np.array([0.0, 0.35, 1.0]), curve).tolist() == pytest.approx([0.1, 0.25, 0.9])  # clipped at the ends


def test_expected_roc_auc_is_sklearns_when_the_probabilities_are_the_labels():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(5)
    scores = rng.integers(0, 20, 500) / 20  # with ties
    labels = (rng.random(500) < scores).astype(float)
    assert estimate_roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    assert estimate_roc_auc(scores, np.ones(500)) is None  # no expected negatives: undefined


@pytest.mark.parametrize("scenario", ["covariate_shift", "economic_shift"])
def test_the_estimate_sees_the_accuracy_drop_before_any_label_arrives(seeded, scenario):
    labelled = seeded(scenario=scenario, n_live=2000).monitor("credit", window="1h")
    actual = labelled.concept.live  # what the labels later show
    unlabelled = seeded(scenario=scenario, n_live=2000, labelled=0.0).monitor("credit", window="1h")
    estimate = unlabelled.estimated
    assert unlabelled.concept.verdict == "no_labels"
    assert estimate.verdict == "degraded" and estimate.score > 0 and estimate.high < estimate.validation
    assert abs(estimate.estimated - actual) < 0.03  # tracks the real accuracy
    assert estimate.n == 2000 and len(estimate.windows) == 12 and sum(w.value is not None for w in estimate.windows) >= 10
    assert 0 < estimate.precision < 1 and 0 < estimate.recall < 1 and 0 < estimate.f1 < 1


def test_no_shift_no_alarm_and_the_interval_covers_the_real_accuracy(seeded):
    ws = seeded(scenario="none", n_live=2000)
    report = ws.monitor("credit", window="1h")
    estimate = report.estimated
    assert estimate.verdict == "ok" and estimate.score == 0
    assert estimate.low <= report.concept.live <= estimate.high
    assert estimate.roc_auc == pytest.approx(report.metrics["estimated.roc_auc"])
    assert abs(estimate.roc_auc - ws.store.registry.resolve("credit").metrics["roc_auc"]) < 0.02  # as on the holdout


def test_fallback_answers_are_not_the_models_and_small_or_uncalibrated_windows_say_so(seeded):
    ws = seeded(scenario="none", n_live=1000, fallback_rate=0.5)
    estimate = ws.monitor("credit", window="1h").estimated
    assert 400 < estimate.n < 600  # the fallback's answers are left out
    assert seeded(scenario="none", n_live=10).monitor("credit", window="1h").estimated.verdict == "insufficient_data"
    config_path = Path(ws.store.registry.resolve("credit").deployment_dir) / "deployment.json"
    config = json.loads(config_path.read_text())
    config["calibration"] = None  # deployed without a holdout
    config_path.write_text(json.dumps(config))
    assert ws.monitor("credit", window="1h").estimated.verdict == "no_calibration"


def test_alert_rules_can_watch_the_estimate(seeded):
    ws = seeded(scenario="economic_shift", n_live=1200, labelled=0.0)
    rule = AlertRule(name="estimated accuracy", metric="estimated.score", op=">", threshold=0.0, window="1h", min_count=500)
    [check] = ws.evaluate_alerts("credit", [rule])
    assert check.status == "firing" and check.count == 1200 and check.value > 0
