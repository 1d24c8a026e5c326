"""A workspace seeded like a deployed credit model: registry version, reference.json, audit rows, feedback.

The live rows come from the example data's drift scenarios — the ground truth the tests check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nb2prod.api import Workspace
from nb2prod.examples.credit import CATEGORICAL, PROTECTED, TARGET, make_credit_data
from nb2prod.models import AuditEvent, Feedback, Override, VersionRecord
from nb2prod.monitor.reference import build_reference, save_reference

MODEL_FEATURES = [c for c in make_credit_data(5).columns if c not in (TARGET, PROTECTED)]
MODEL_CATEGORICAL = [c for c in CATEGORICAL if c != PROTECTED]


def train_credit_model() -> dict[str, Any]:
    """A logistic regression on the example data (gender excluded) and its holdout metrics."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train = make_credit_data(6000, seed=1)
    holdout = make_credit_data(3000, seed=2)
    numeric = [c for c in MODEL_FEATURES if c not in MODEL_CATEGORICAL]
    model = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), MODEL_CATEGORICAL)]),
        LogisticRegression(max_iter=500),
    )
    model.fit(train[MODEL_FEATURES], train[TARGET])
    proba = model.predict_proba(holdout[MODEL_FEATURES])[:, 1]
    metrics = {
        "roc_auc": float(roc_auc_score(holdout[TARGET], proba)),
        "accuracy": float(accuracy_score(holdout[TARGET], proba >= 0.5)),
    }
    from nb2prod.package.evaluate import calibration_map, describe_model

    calibration = calibration_map(model, holdout[MODEL_FEATURES], holdout[TARGET].to_numpy(), describe_model(model))
    return {"model": model, "train": train, "metrics": metrics, "calibration": calibration}


@pytest.fixture(scope="session")
def credit_model() -> dict[str, Any]:
    return train_credit_model()


def seed_workspace(
    home: Path,
    credit_model: dict[str, Any],
    *,
    scenario: str = "none",
    n_live: int = 2000,
    seed: int = 7,
    now: float | None = None,
    span_s: float = 3000.0,
    labelled: float = 1.0,
    name: str = "credit",
    fallback_rate: float = 0.0,
    error_rate: float = 0.0,
) -> Workspace:
    """Register a version of the credit model in ``home`` and write ``n_live`` audit rows from ``scenario``."""
    now = time.time() if now is None else now
    model, train = credit_model["model"], credit_model["train"]
    folder = home / "deployments" / name / f"{name}-v1"
    folder.mkdir(parents=True, exist_ok=True)
    save_reference(build_reference(train.drop(columns=[TARGET]), CATEGORICAL), folder / "reference.json")
    (folder / "deployment.json").write_text(json.dumps({
        "name": name, "version_id": f"{name}-v1", "task": "binary", "classes": [0, 1], "positive_class": 1,
        "threshold": 0.5, "protected": [PROTECTED], "favorable": 0, "reference_file": "reference.json",
        "calibration": credit_model["calibration"],
    }))
    ws = Workspace.open(home)
    ws.store.registry.add_version(VersionRecord(
        version_id=f"{name}-v1", name=name, created_at="2026-11-01T00:00:00", model_hash="x",
        metrics=dict(credit_model["metrics"]), deployment_dir=str(folder),
        extra={"task": "binary", "threshold": 0.5, "protected": [PROTECTED], "target": TARGET},
    ))
    live = make_credit_data(n_live, seed=seed, scenario=scenario)
    proba = model.predict_proba(live[MODEL_FEATURES])[:, 1]
    rng = np.random.default_rng(seed)
    ts = np.sort(now - span_s + rng.random(n_live) * span_s * 0.999)
    latency = rng.gamma(2.0, 6.0, n_live)
    inputs = live.drop(columns=[TARGET]).to_dict(orient="records")
    events, feedback = [], []
    for i in range(n_live):
        failed = rng.random() < error_rate
        fell_back = rng.random() < fallback_rate
        rid = f"{name}-{seed}-{i}"
        events.append(AuditEvent(
            request_id=rid, name=name, version_id=f"{name}-v1", ts=float(ts[i]),
            inputs={k: (v.item() if hasattr(v, "item") else v) for k, v in inputs[i].items()},
            output=None if failed else int(proba[i] >= 0.5), score=None if failed else float(proba[i]),
            latency_ms=float(latency[i]), fallback=fell_back, violations=["income<0"] if fell_back else [],
            error="boom" if failed else None,
        ))
        if rng.random() < labelled:
            feedback.append(Feedback(request_id=rid, label=int(live[TARGET].iloc[i]), outcome=float(rng.normal()), ts=float(ts[i]) + 1))
    ws.store.audit.write(events)
    ws.store.audit.add_feedback(feedback)
    ws.store.audit.add_override(Override(request_id=f"{name}-{seed}-0", decision=0, operator="ana", reason="known client", ts=float(ts[0])))
    return ws


@pytest.fixture()
def seeded(tmp_path: Path, credit_model: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Workspace]:
    monkeypatch.setenv("BENTOML_DO_NOT_TRACK", "True")
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bentoml"))
    monkeypatch.delenv("NB2PROD_STORE_URL", raising=False)
    opened: list[Workspace] = []

    def make(**kwargs: Any) -> Workspace:
        home = tmp_path / f"home{len(opened)}"
        ws = seed_workspace(home, credit_model, **kwargs)
        opened.append(ws)
        return ws

    yield make
    for ws in opened:
        ws.close()
