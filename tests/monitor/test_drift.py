"""Data drift: exactness against scipy, ground truth from the drift scenarios, false-alarm calibration."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, false_discovery_control, ks_2samp, wasserstein_distance

from nb2prod.errors import InvalidInputError, NotFoundError
from nb2prod.examples.credit import CATEGORICAL, TARGET, make_credit_data
from nb2prod.monitor.drift import benjamini_hochberg, compute_drift
from nb2prod.monitor.reference import build_reference, load_reference, save_reference


def _inputs(n: int, seed: int, scenario: str = "none") -> pd.DataFrame:
    return make_credit_data(n, seed=seed, scenario=scenario).drop(columns=[TARGET])


def test_reference_is_json_ready_and_exact_for_few_distinct_values(tmp_path):
    ref = _inputs(3000, 1)
    sketch = build_reference(ref, CATEGORICAL, sample_size=100)
    path = save_reference(sketch, tmp_path / "reference.json")
    loaded = load_reference(path)
    assert loaded == json.loads(json.dumps(sketch))
    age = loaded["features"]["age"]
    assert age["kind"] == "numeric" and age["exact"] and age["n"] == 3000
    assert age["grid"] == sorted(set(ref["age"].astype(float)))
    assert loaded["features"]["gender"]["counts"] == {k: int(v) for k, v in ref["gender"].value_counts().items()}
    assert len(loaded["sample"]) == 100
    continuous = build_reference(pd.DataFrame({"x": np.random.default_rng(0).normal(size=50_000)}), grid_size=512)
    assert not continuous["features"]["x"]["exact"] and len(continuous["features"]["x"]["grid"]) == 512


def test_reference_errors_are_one_line(tmp_path):
    with pytest.raises(InvalidInputError, match="no rows"):
        build_reference(pd.DataFrame({"a": []}))
    with pytest.raises(InvalidInputError, match="not numeric"):
        build_reference(pd.DataFrame({"a": ["x", "y"]}), categorical=[])
    with pytest.raises(NotFoundError, match="no reference sketches"):
        load_reference(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InvalidInputError, match="not an nb2prod reference"):
        load_reference(tmp_path / "bad.json")


def test_statistics_equal_scipy_on_raw_data():
    ref, cur = _inputs(800, 1), _inputs(1500, 2, "covariate_shift")
    result = compute_drift(build_reference(ref, CATEGORICAL), cur)
    for f in result.features:
        a, b = ref[f.feature], cur[f.feature]
        if f.kind == "numeric":
            ks = ks_2samp(a, b)  # exact distribution: 800 reference rows
            assert f.statistic == pytest.approx(ks.statistic, abs=1e-12)
            assert f.p_value == pytest.approx(ks.pvalue, rel=1e-9, abs=1e-300)
            w = wasserstein_distance(a, b) / max(np.std(a), 0.001)
            assert f.effect == pytest.approx(w, rel=1e-9, abs=1e-12)
        else:
            table = pd.crosstab(np.r_[np.zeros(len(a)), np.ones(len(b))], np.r_[a.astype(str), b.astype(str)])
            assert f.p_value == pytest.approx(chi2_contingency(table.to_numpy())[1], rel=1e-9)


def test_large_reference_uses_asymptotic_ks_and_close_wasserstein():
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.lognormal(10, 0.5, 100_000)})
    cur = pd.DataFrame({"x": rng.lognormal(10.04, 0.5, 20_000)})
    f = compute_drift(build_reference(ref), cur).features[0]
    ks = ks_2samp(ref["x"], cur["x"])
    assert f.statistic == pytest.approx(ks.statistic, abs=2e-3)
    assert f.effect == pytest.approx(wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"]), rel=0.02)


def test_benjamini_hochberg_matches_definition():
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.001])
    q = benjamini_hochberg(p)
    expected = np.array([0.025, 0.05, 0.05, 0.2, 0.005])
    assert np.allclose(q, expected)
    # Sorted, p * m / rank is 0.06, 0.06, 0.042, 0.75, 1.08, 0.95: only the cumulative minimum from
    # the top brings ranks 1-2 down to 0.042 and rank 5 down to 0.95 (below the cap at 1).
    p = np.array([0.9, 0.01, 0.5, 0.021, 0.95, 0.02])
    raw = np.sort(p) * p.size / np.arange(1, p.size + 1)
    assert raw.max() > 1 and not np.all(np.diff(raw) >= 0)
    assert np.allclose(benjamini_hochberg(p), false_discovery_control(p, method="bh"))
    ties = np.array([0.5, 0.5, 0.999, 0.001, 0.001, 0.3, 0.04])
    assert np.allclose(benjamini_hochberg(ties), false_discovery_control(ties, method="bh"))
    assert benjamini_hochberg([]).size == 0


@pytest.mark.parametrize(
    ("scenario", "must", "must_not"),
    [
        ("covariate_shift", {"age", "purpose", "employment_years"}, {"gender", "region", "home_ownership", "interest_rate"}),
        ("economic_shift", {"income", "interest_rate", "debt_to_income", "credit_utilization"}, {"gender", "purpose", "age"}),
    ],
)
def test_injected_drift_is_found_where_injected(scenario, must, must_not):
    reference = build_reference(_inputs(8000, 1), CATEGORICAL, sample_size=0)
    result = compute_drift(reference, _inputs(2000, 5, scenario))
    drifted = set(result.drifted)
    assert must <= drifted
    assert not (must_not & drifted)
    assert result.detected and 0 < result.score < 1


def test_identical_distributions_raise_at_most_5_percent_false_alarms():
    """200 trials: fresh reference and live samples of the same distribution each time."""
    trials, dataset_alarms, feature_alarms, tests = 200, 0, 0, 0
    for i in range(trials):
        ref = _inputs(2000, 10_000 + i)
        cur = _inputs(500, 20_000 + i)
        result = compute_drift(build_reference(ref, CATEGORICAL, sample_size=0), cur)
        dataset_alarms += result.detected
        # the raw per-test level, before multiple-testing control and the effect-size floor
        feature_alarms += sum(f.p_value <= 0.05 for f in result.features)
        tests += len(result.features)
    assert dataset_alarms / trials <= 0.05, f"{dataset_alarms} dataset false alarms in {trials} trials"
    assert feature_alarms / tests <= 0.05 + 0.01, f"per-test false-alarm rate {feature_alarms / tests:.3f}"


def test_missing_column_and_unseen_category_are_reported():
    reference = build_reference(_inputs(2000, 1), CATEGORICAL, sample_size=0)
    cur = _inputs(500, 2).drop(columns=["age"])
    cur.loc[:49, "purpose"] = "crypto"
    result = compute_drift(reference, cur)
    by_name = {f.feature: f for f in result.features}
    assert by_name["age"].n_current == 0 and not by_name["age"].drifted
    assert by_name["purpose"].unseen == ("crypto",)
    assert by_name["purpose"].p_value < 1e-6
