"""Our drift statistics equal Evidently's where both compute the same thing; the deep HTML report renders."""

from __future__ import annotations

import pytest

from nb2prod.adapters.evidently_report import data_drift_report
from nb2prod.examples.credit import CATEGORICAL, TARGET, make_credit_data
from nb2prod.monitor.drift import compute_drift
from nb2prod.monitor.reference import build_reference

pytestmark = pytest.mark.slow  # importing Evidently takes seconds

NUMERIC = [c for c in make_credit_data(5).columns if c not in (*CATEGORICAL, TARGET)]


def _pair(n_ref: int, n_cur: int):
    ref = make_credit_data(n_ref, seed=1).drop(columns=[TARGET])
    cur = make_credit_data(n_cur, seed=2, scenario="covariate_shift").drop(columns=[TARGET])
    return ref, cur


def test_ks_p_values_equal_evidentlys_with_small_reference(tmp_path):
    ref, cur = _pair(900, 1200)  # ≤ 1000 reference rows: Evidently uses KS on numeric columns
    theirs = data_drift_report(ref, cur, numerical=NUMERIC, categorical=list(CATEGORICAL), html=tmp_path / "r.html")
    ours = {f.feature: f for f in compute_drift(build_reference(ref, CATEGORICAL), cur).features}
    compared = 0
    for column in NUMERIC:
        entry = theirs["columns"][column]
        if entry["method"] == "K-S p_value":
            assert ours[column].p_value == pytest.approx(entry["value"], rel=1e-6, abs=1e-12), column
            compared += 1
    assert compared >= 6
    html = (tmp_path / "r.html").read_text()
    assert len(html) > 10_000 and "age" in html


def test_wasserstein_and_jensen_shannon_equal_evidentlys_with_large_reference():
    ref, cur = _pair(5000, 3000)  # > 1000 rows: Wasserstein (normed) and Jensen–Shannon
    theirs = data_drift_report(ref, cur, numerical=NUMERIC, categorical=list(CATEGORICAL))
    ours = {f.feature: f for f in compute_drift(build_reference(ref, CATEGORICAL), cur).features}
    methods = set()
    for column, entry in theirs["columns"].items():
        if entry["method"].startswith("Wasserstein"):
            assert ours[column].effect == pytest.approx(entry["value"], rel=1e-6, abs=1e-9), column
            methods.add("wasserstein")
        elif entry["method"].startswith("Jensen-Shannon") and column in CATEGORICAL:
            assert ours[column].effect == pytest.approx(entry["value"], rel=1e-6, abs=1e-9), column
            methods.add("js")
    assert methods == {"wasserstein", "js"}
