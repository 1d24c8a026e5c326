"""Concept drift: river generators with known drift points, and the credit scenarios through the store."""

from __future__ import annotations

import numpy as np
import pytest

from nb2prod.adapters.river_drift import adwin_detections
from nb2prod.monitor.metrics import bootstrap_ci, score_metric, wilson_interval


def _agrawal_error_stream(seed: int, position: int, n: int) -> np.ndarray:
    from river.datasets import synth
    from sklearn.tree import DecisionTreeClassifier

    train = list(synth.Agrawal(classification_function=0, seed=1).take(4000))
    model = DecisionTreeClassifier(max_depth=6, random_state=0).fit([list(x.values()) for x, _ in train], [y for _, y in train])
    stream = synth.ConceptDriftStream(
        stream=synth.Agrawal(classification_function=0, seed=10 + seed),
        drift_stream=synth.Agrawal(classification_function=2, seed=20 + seed),
        position=position, width=50, seed=seed,
    )
    rows = list(stream.take(n))
    predicted = model.predict([list(x.values()) for x, _ in rows])
    return (predicted != np.array([y for _, y in rows])).astype(float)


def test_adwin_finds_known_drift_points_quickly_without_false_alarms():
    position, delays, false_alarms = 2500, [], 0
    for seed in range(3):
        errors = _agrawal_error_stream(seed, position, 5000)
        found = adwin_detections(errors)
        false_alarms += sum(i < position for i in found)
        after = [i for i in found if i >= position]
        assert after, f"drift at {position} not detected (seed {seed})"
        delays.append(after[0] - position)
    assert false_alarms == 0
    assert max(delays) <= 200, delays


def test_adwin_stays_quiet_on_a_stationary_stream():
    rng = np.random.default_rng(0)
    assert adwin_detections((rng.random(5000) < 0.2).astype(float)) == []


def test_bootstrap_interval_covers_and_metrics_agree_with_sklearn():
    from sklearn.metrics import accuracy_score, roc_auc_score

    rng = np.random.default_rng(1)
    y = rng.random(2000) < 0.3
    score = np.clip(y * 0.3 + rng.random(2000) * 0.7, 0, 1)
    pred = score >= 0.5
    assert score_metric("roc_auc", y, pred, score) == pytest.approx(roc_auc_score(y, score))
    assert score_metric("accuracy", y, pred, score) == pytest.approx(accuracy_score(y, pred))
    low, high = bootstrap_ci("roc_auc", y, pred, score)
    assert low < roc_auc_score(y, score) < high and high - low < 0.1
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)


def test_reality_gap_is_visible_after_the_economic_shift(seeded):
    ws = seeded(scenario="economic_shift", n_live=2500)
    result = ws.concept_drift("credit", window="1h")
    assert result.metric == "accuracy" and result.validation is not None
    assert result.verdict == "degraded" and result.score > 0 and result.gap > 0.01
    assert result.live_high < result.validation
    assert len(result.windows) == 12 and all(w.low <= w.value <= w.high for w in result.windows if w.value is not None)


def test_no_gap_without_shift_and_no_verdict_without_labels(seeded):
    ws = seeded(scenario="none", n_live=2500)
    result = ws.concept_drift("credit", window="1h")
    assert result.verdict == "ok" and result.score == 0.0
    assert result.live_low <= result.validation <= result.live_high
    unlabelled = seeded(scenario="economic_shift", n_live=300, labelled=0.0)
    none = unlabelled.concept_drift("credit", window="1h")
    assert none.verdict == "no_labels" and none.score is None and none.n_labelled == 0
