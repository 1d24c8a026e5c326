"""A regressor's labels fold into residual sums in the per-minute profiles: `monitor` reports the live
RMSE/MAE/R² of the selected version from them (equal to the figures computed from the rows), against
validation, and concept drift fires when the residuals grow."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2prod.api import Workspace
from nb2prod.models import AuditEvent, Feedback, VersionRecord
from nb2prod.monitor.reference import build_reference, save_reference


def _regressor(home: Path, *, noise_late: float, n: int = 600, validation_rmse: float = 1.0) -> tuple[Workspace, np.ndarray]:
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"rooms": rng.integers(1, 8, 2000).astype(float), "area": rng.gamma(4.0, 20.0, 2000)})
    folder = home / "deployments" / "houses" / "houses-v1"
    folder.mkdir(parents=True)
    save_reference(build_reference(train), folder / "reference.json")
    (folder / "deployment.json").write_text(json.dumps({
        "name": "houses", "version_id": "houses-v1", "task": "regression", "classes": None, "reference_file": "reference.json",
    }))
    ws = Workspace.open(home)
    ws.store.registry.add_version(VersionRecord(
        version_id="houses-v1", name="houses", created_at="2026-11-01T00:00:00", model_hash="x",
        metrics={"rmse": validation_rmse, "mae": 0.8, "r2": 0.9}, deployment_dir=str(folder), extra={"task": "regression"},
    ))
    now = time.time()
    ts = np.sort(now - 3000 + rng.random(n) * 2990)
    predictions = rng.normal(100.0, 15.0, n)
    # residuals: unit noise in the first half, ``noise_late`` times larger in the second
    errors = rng.normal(0.0, 1.0, n) * np.where(np.arange(n) < n // 2, 1.0, noise_late)
    labels = predictions - errors
    inputs = train.sample(n, random_state=1).to_dict(orient="records")
    ws.store.audit.write([
        AuditEvent(request_id=f"h{i}", name="houses", version_id="houses-v1", ts=float(ts[i]), inputs=inputs[i],
                   output=float(predictions[i]), score=float(predictions[i]), latency_ms=2.0)
        for i in range(n)
    ])
    ws.store.audit.add_feedback([Feedback(request_id=f"h{i}", label=float(labels[i]), ts=float(ts[i]) + 1) for i in range(n)])
    return ws, labels - predictions


def test_live_rmse_of_a_regressor_comes_from_its_residuals(tmp_path: Path) -> None:
    ws, residuals = _regressor(tmp_path / "steady", noise_late=1.0)
    try:
        concept = ws.monitor("houses", window="1h").concept
        assert concept is not None and concept.metric == "rmse" and concept.n_labelled == len(residuals)
        assert concept.live == pytest.approx(float(np.sqrt(np.mean(residuals**2))), rel=1e-6)
        assert concept.validation == 1.0 and not concept.degraded
    finally:
        ws.close()


def test_growing_residuals_are_concept_drift(tmp_path: Path) -> None:
    ws, residuals = _regressor(tmp_path / "drifting", noise_late=4.0)
    try:
        concept = ws.monitor("houses", window="1h").concept
        assert concept is not None and concept.live == pytest.approx(float(np.sqrt(np.mean(residuals**2))), rel=1e-6)
        assert concept.degraded and concept.verdict != "ok"
    finally:
        ws.close()
