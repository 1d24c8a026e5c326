"""Seed data for the server and browser tests: a notebook with known lint findings, a registry, a day of audit rows."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

from nb2prod.api import Workspace
from nb2prod.models import AlertEvent, AuditEvent, Feedback, RegistryEvent, Traffic, VersionRecord, VersionState

__all__ = ["lint_demo_notebook", "seed_monitoring", "seed_registry", "version_record", "write_notebook"]


def lint_demo_notebook() -> dict[str, Any]:
    """A notebook with known problems: an unseeded draw, a name used before the cell defining it ran, an absolute path."""

    def code(source: str, count: int | None, cell_id: str) -> dict[str, Any]:
        return {"cell_type": "code", "id": cell_id, "metadata": {}, "execution_count": count, "outputs": [], "source": source}

    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}},
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Demo"},
            code("import numpy as np\nnoise = np.random.rand(10)", 1, "draw"),
            code("total = offset + 1", 2, "use-offset"),
            code("offset = 3", 3, "define-offset"),
            code("import pandas as pd\nframe = pd.read_csv('/srv/absent/data.csv')", 4, "read"),
        ],
    }


def write_notebook(path: Path, nb: dict[str, Any] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb or lint_demo_notebook()), encoding="utf-8")
    return path


def version_record(name: str, n: int, folder: Path | None, *, auc: float) -> VersionRecord:
    return VersionRecord(
        version_id=f"{name}-v{n}", name=name, created_at=f"2026-11-0{n}T00:00:00", model_hash=f"hash{n}",
        data_fingerprint={"X_train": {"rows": 1000, "sha256": f"d{n}"}}, code_fingerprint={"notebook": "credit.ipynb", "sha256": f"c{n}"},
        environment={"python": "3.11.9", "packages": {"scikit-learn": "1.9.0"}}, metrics={"roc_auc": auc, "accuracy": auc - 0.05},
        deployment_dir=str(folder) if folder else None, extra={"task": "binary", "threshold": 0.5, "protected": ["gender"], "target": "default"},
    )


def seed_registry(ws: Workspace, name: str = "credit") -> None:
    """Three versions through the store API: v1 retired, v2 live (deployed over v1), v3 refused by the gate."""
    reg = ws.store.registry
    reg.add_version(version_record(name, 1, None, auc=0.80), state=VersionState.LIVE)
    reg.set_traffic(Traffic(name=name, live=f"{name}-v1"), RegistryEvent(name=name, action="deploy", version_id=f"{name}-v1", actor="ana", reason="first"))
    reg.add_version(version_record(name, 2, None, auc=0.82), state=VersionState.LIVE)
    reg.set_state(f"{name}-v1", VersionState.RETIRED)
    reg.set_traffic(Traffic(name=name, live=f"{name}-v2"), RegistryEvent(
        name=name, action="deploy", version_id=f"{name}-v2", actor="ana", reason="retrained",
        evidence={"gate": [{"check": "threshold", "metric": "roc_auc", "value": 0.82, "limit": 0.7, "passed": True}]},
    ))
    reg.add_version(version_record(name, 3, None, auc=0.60), state=VersionState.REFUSED)
    reg.record_event(RegistryEvent(name=name, action="gate_refused", version_id=None, actor="ana", reason="roc_auc 0.60 < 0.7",
                                   evidence={"checks": [{"check": "threshold", "metric": "roc_auc", "value": 0.6, "limit": 0.7, "passed": False}]}))


@functools.cache
def _monitoring_data(n_live: int) -> tuple[dict[str, Any], list[tuple[float, dict[str, Any], int, float, int]]]:
    """Reference sketch of the training frame, and live rows (income shifted): (age in s, inputs, output, score, label)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nb2prod.examples.credit import CATEGORICAL, TARGET, make_credit_data
    from nb2prod.monitor.reference import build_reference

    train = make_credit_data(2000, seed=1)
    live = make_credit_data(n_live, seed=5, scenario="covariate_shift")
    numeric = [c for c in train.columns if c not in (*CATEGORICAL, TARGET)]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(train[numeric], train[TARGET])
    proba = model.predict_proba(live[numeric])[:, 1]
    ages = np.sort(86_000 - np.random.default_rng(0).random(n_live) * 85_000)[::-1]
    inputs = live.drop(columns=[TARGET]).to_dict(orient="records")
    rows = [
        (float(ages[i]), {k: (v.item() if hasattr(v, "item") else v) for k, v in inputs[i].items()},
         int(proba[i] >= 0.5), float(proba[i]), int(live[TARGET].iloc[i]))
        for i in range(n_live)
    ]
    return build_reference(train.drop(columns=[TARGET]), CATEGORICAL), rows


def seed_monitoring(ws: Workspace, home: Path, name: str = "monitored", n_live: int = 600) -> None:
    """A live version with a reference sketch and ``n_live`` audit rows (income shifted) over the last day, half labelled."""
    from nb2prod.monitor.reference import save_reference

    reference, rows = _monitoring_data(n_live)
    folder = home / "deployments" / name / f"{name}-v1"
    folder.mkdir(parents=True, exist_ok=True)
    save_reference(reference, folder / "reference.json")
    (folder / "deployment.json").write_text(json.dumps({
        "name": name, "version_id": f"{name}-v1", "task": "binary", "classes": [0, 1], "positive_class": 1, "threshold": 0.5,
        "protected": ["gender"], "favorable": 0, "reference_file": "reference.json",
    }))
    ws.store.registry.add_version(version_record(name, 1, folder, auc=0.8), state=VersionState.LIVE)
    ws.store.registry.set_traffic(Traffic(name=name, live=f"{name}-v1"),
                                  RegistryEvent(name=name, action="deploy", version_id=f"{name}-v1", actor="ana", reason="first"))
    now = time.time()
    ws.store.audit.write([
        AuditEvent(request_id=f"r{i}", name=name, version_id=f"{name}-v1", ts=now - age, inputs=inputs, output=output, score=score, latency_ms=5.0)
        for i, (age, inputs, output, score, _) in enumerate(rows)
    ])
    ws.store.audit.add_feedback([Feedback(request_id=f"r{i}", label=row[4], ts=now - row[0] + 1) for i, row in enumerate(rows) if i % 2 == 0])
    ws.store.alerts.add(AlertEvent(name=name, rule="drift", metric="drift.score", value=0.5, threshold=0.3, window="1h", ts=now))
