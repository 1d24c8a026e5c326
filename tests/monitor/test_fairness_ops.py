"""Fairness (four-fifths rule, minimum group size, CIs; equal to fairlearn) and operations figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2prod.adapters.fairlearn_metrics import group_rates
from nb2prod.models import VersionRecord
from nb2prod.monitor.fairness import fairness
from nb2prod.monitor.frames import AuditFrame, DeploymentContext
from nb2prod.monitor.operations import operations


def _ctx() -> DeploymentContext:
    record = VersionRecord(version_id="m-v1", name="m", created_at="", model_hash="")
    return DeploymentContext(name="m", record=record, task="binary", positive_class=1, threshold=0.5,
                             protected=("group",), favorable=0, reference_path=None)


def _frame(rates: dict[str, tuple[int, float]], seed: int = 0, labelled: bool = True) -> AuditFrame:
    rng = np.random.default_rng(seed)
    groups, outputs, labels = [], [], []
    for g, (n, approve) in rates.items():
        groups += [g] * n
        decided = np.where(rng.random(n) < approve, 0, 1)
        outputs += decided.tolist()
        labels += np.where(rng.random(n) < 0.8, decided, 1 - decided).tolist()
    n = len(groups)
    meta = pd.DataFrame({
        "request_id": [f"r{i}" for i in range(n)], "version_id": "m-v1", "ts": np.linspace(0, 100, n),
        "output": pd.Series(outputs, dtype=object), "score": rng.random(n), "latency_ms": np.arange(n, dtype=float),
        "fallback": np.arange(n) % 10 == 0, "violations": (np.arange(n) % 20 == 0).astype(int),
        "error": [None] * n, "label": pd.Series(labels if labelled else [None] * n, dtype=object),
        "outcome": np.nan, "has_label": labelled, "overridden": np.arange(n) % 50 == 0,
    })
    return AuditFrame(meta=meta, inputs=pd.DataFrame({"group": groups}), since=0.0, until=100.0)


def test_four_fifths_rule_flags_adverse_impact_with_interval():
    result = fairness(_frame({"a": (1000, 0.8), "b": (1000, 0.5)}), _ctx())
    attr = result.attributes[0]
    assert attr.verdict == "adverse_impact"
    assert attr.di_ratio == pytest.approx(0.5 / 0.8, abs=0.05)
    assert attr.di_low < attr.di_ratio < attr.di_high < 0.8
    by = {g.group: g for g in attr.groups}
    assert by["a"].selection_low < by["a"].selection_rate < by["a"].selection_high
    assert result.min_di_ratio == attr.di_ratio


def test_equal_rates_pass_and_small_groups_get_no_verdict():
    assert fairness(_frame({"a": (800, 0.7), "b": (800, 0.7)}), _ctx()).attributes[0].verdict == "ok"
    small = fairness(_frame({"a": (800, 0.8), "b": (12, 0.2)}), _ctx())
    assert small.attributes[0].verdict == "insufficient_data" and small.min_di_ratio is None


def test_group_rates_equal_fairlearn():
    frame = _frame({"a": (700, 0.75), "b": (500, 0.55), "c": (300, 0.6)}, seed=3)
    attr = fairness(frame, _ctx()).attributes[0]
    outputs = frame.meta["output"].to_numpy().astype(int)
    labels = frame.meta["label"].to_numpy().astype(int)
    theirs = group_rates(outputs == 0, frame.inputs["group"].to_numpy(), y_true=labels == 1, y_pred=outputs == 1,
                         labelled=np.ones(len(outputs), dtype=bool))
    for g in attr.groups:
        assert g.selection_rate == pytest.approx(theirs[g.group]["selection_rate"])
        assert g.tpr == pytest.approx(theirs[g.group]["tpr"])
        assert g.fpr == pytest.approx(theirs[g.group]["fpr"])
        assert g.error_rate == pytest.approx(theirs[g.group]["error_rate"])
    from fairlearn.metrics import demographic_parity_ratio

    expected = demographic_parity_ratio(outputs == 0, outputs == 0, sensitive_features=frame.inputs["group"])
    assert attr.di_ratio == pytest.approx(expected)


def test_operations_figures_by_version_and_window():
    frame = _frame({"a": (600, 0.7), "b": (400, 0.7)})
    frame.meta.loc[frame.meta.index % 4 == 0, "version_id"] = "m-v2"
    frame.meta.loc[:9, "error"] = "boom"
    ops = operations(frame, name="m", window="100s", n_windows=4)
    o = ops.overall
    assert o.n == 1000 and o.throughput_rps == pytest.approx(10.0)
    assert o.latency_p50_ms == pytest.approx(np.percentile(np.arange(1000), 50))
    assert o.latency_p99_ms == pytest.approx(np.percentile(np.arange(1000), 99))
    assert o.error_rate == pytest.approx(0.01) and o.fallback_rate == pytest.approx(0.1)
    assert o.violation_rate == pytest.approx(0.05) and o.override_rate == pytest.approx(0.02)
    assert {v.version_id: v.n for v in ops.by_version} == {"m-v1": 750, "m-v2": 250}
    assert [w.n for w in ops.timeline] == [250, 250, 250, 250]


@pytest.mark.parametrize(("attribute", "favorable", "verdict"), [("gender", 0, "ok"), ("home_ownership", 1, "adverse_impact")])
def test_fairness_through_the_store(seeded, attribute, favorable, verdict):
    """The store's rows judged by fairlearn itself: same rates, same ratio, the verdict the four-fifths rule gives it.

    The model does not use gender (approval rates are close); it does use home ownership, and being predicted a
    default (1) is far more likely for renters than for owners — both verdicts are exercised.
    """
    from fairlearn.metrics import MetricFrame, demographic_parity_ratio, selection_rate, true_positive_rate

    ws = seeded(scenario="none", n_live=1500)
    spec = ws.store.registry.resolve("credit").deployment_dir
    config = json.loads((Path(spec) / "deployment.json").read_text())
    (Path(spec) / "deployment.json").write_text(json.dumps({**config, "protected": [attribute], "favorable": favorable}))
    result = ws.fairness("credit", window="1h")
    attr = result.attributes[0]
    assert attr.attribute == attribute and result.favorable == favorable

    rows = ws.store.audit.predictions("credit")
    labels = {f.request_id: f.label for f in ws.store.audit.feedback(name="credit")}
    decided = [r for r in rows if r.output is not None]
    assert len(decided) == 1500 and len(labels) == 1500
    groups = np.array([r.inputs[attribute] for r in decided])
    assert {g.group for g in attr.groups} == set(groups.tolist())
    chosen = np.array([r.output == favorable for r in decided])
    ratio = demographic_parity_ratio(chosen, chosen, sensitive_features=groups)
    assert attr.di_ratio == pytest.approx(ratio)
    assert attr.verdict == ("adverse_impact" if ratio < 0.8 else "ok")
    assert attr.verdict == verdict, ratio
    rates = MetricFrame(metrics=selection_rate, y_true=chosen, y_pred=chosen, sensitive_features=groups).by_group
    y_true = np.array([labels[r.request_id] == 1 for r in decided])
    tpr = MetricFrame(metrics=true_positive_rate, y_true=y_true, y_pred=np.array([r.output == 1 for r in decided]),
                      sensitive_features=groups).by_group
    for g in attr.groups:
        assert g.n == int((groups == g.group).sum()) and g.n_labelled == g.n
        assert g.selection_rate == pytest.approx(rates[g.group]) and g.tpr == pytest.approx(tpr[g.group])
