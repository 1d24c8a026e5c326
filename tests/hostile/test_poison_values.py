"""A value that would poison the store is refused at the door; a row already stored never breaks monitoring."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nb2prod.errors import InvalidInputError
from nb2prod.models import AuditEvent
from nb2prod.monitor.frames import load_audit_frame
from nb2prod.runtime.schema import MAX_MAGNITUDE, build_schema
from nb2prod.runtime.spec import DeploymentSpec, FeatureSpec, Task


def _schema():
    spec = DeploymentSpec(
        folder=Path("unused"), name="credit", version_id="credit-v1", task=Task.BINARY, classes=(0, 1),
        features=(FeatureSpec(name="age", dtype="int"), FeatureSpec(name="income", dtype="float")),
    )
    return build_schema(spec)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"age": int("9" * 401), "income": 1.0}, "age"),
        ({"age": MAX_MAGNITUDE + 1, "income": 1.0}, "age"),
        ({"age": 30, "income": 1e300}, "income"),
        ({"age": 30, "income": float("inf")}, "income"),
        ({"age": 30, "income": float("nan")}, "income"),
    ],
)
def test_unrepresentable_numbers_are_refused_naming_the_field(row, field):
    with pytest.raises(InvalidInputError) as exc:
        _schema().validate_rows([row])
    assert f"0.{field}" in str(exc.value)


def test_values_at_the_bound_are_accepted():
    rows = _schema().validate_rows([{"age": MAX_MAGNITUDE, "income": -float(MAX_MAGNITUDE)}])
    assert rows[0]["age"] == MAX_MAGNITUDE


def test_monitoring_skips_and_reports_a_poisoned_stored_row(seeded):
    ws = seeded(scenario="none", n_live=400)
    good = load_audit_frame(ws.store, "credit", with_feedback=False)
    template = dict(good.inputs.iloc[0])
    bad = []
    for i, value in enumerate([int("9" * 401), float("inf"), float("nan")]):
        inputs = {k: (v.item() if hasattr(v, "item") else v) for k, v in template.items()}
        inputs[next(k for k, v in inputs.items() if isinstance(v, (int, float)) and not isinstance(v, bool))] = value
        bad.append(AuditEvent(
            request_id=f"poison-{i}", name="credit", version_id="credit-v1", ts=time.time() - 10, inputs=inputs,
            output=0, score=0.1, latency_ms=1.0, fallback=False, violations=[], error=None,
        ))
    ws.store.audit.write(bad)
    frame = load_audit_frame(ws.store, "credit", with_feedback=False)
    assert frame.skipped == 3 and len(frame) == len(good)
    report = ws.monitor("credit", window="1h")
    assert report.n == len(good)
    assert any("3 stored prediction(s) skipped" in note for note in report.notes)
    drift = ws.drift("credit", window="1h")
    assert drift is not None
