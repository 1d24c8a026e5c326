"""The workspace the browser tests open: a really deployed credit model with real audit data.

- ``Workspace.deploy`` captures, proves, gates and builds the model (BentoML), then serves it;
  live traffic (income shifted) goes through the running service, which writes the audit rows,
  and half of it gets feedback labels through the service's ``/feedback``.
- A day of earlier traffic is written through the store API, scored by the deployed artifact
  (``load_model``), so the drift panel has a timeline: no shift first, the shift later; then a
  steady last hour (600 rows), every row labelled, so a day and an hour both read as curves of
  full buckets on the dashboard.
- A retrained candidate is registered through the store API, for the promote button.
- A second candidate, retrained on economic-shift data, shadows the live version (``Workspace.shadow``);
  requests after that carry both answers (live: the deployed artifact, shadow: the retrained
  model), half labelled, written through the store API; the shadow gate judged it (``blocked``).
- ``scorecard``: an old three-feature scorecard (live, created 40 days ago, expiry policy 30 days:
  expired) shadowed by the full model, which disagrees on ~17% of requests but is significantly
  more accurate on their labels: the shadow gate says ``needs_approval``, for the Approve button.
- ``lint_demo.ipynb`` under the server root carries known lint findings.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["LINT_NOTEBOOK", "SCORECARD", "seed_lab_workspace"]

LINT_NOTEBOOK = "lint_demo.ipynb"
SCORECARD = "scorecard"
SCORECARD_FEATURES = ["income", "loan_amount", "age"]
HOUR_ROWS = 600  # steady traffic over the last hour


def _notebook() -> dict[str, Any]:
    def code(source: str, count: int, cell_id: str) -> dict[str, Any]:
        return {"cell_type": "code", "id": cell_id, "metadata": {}, "execution_count": count, "outputs": [], "source": source}

    filler = [code(f"step_{i} = {i} * 2", 10 + i, f"filler-{i}") for i in range(12)]  # so jumping has to scroll
    return {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}, "language_info": {"name": "python"}},
        "cells": [
            {"cell_type": "markdown", "id": "intro", "metadata": {}, "source": "# Credit scoring — exploration"},
            code("import numpy as np\nnoise = np.random.rand(10)", 1, "draw"),
            *filler,
            code("total = offset + 1", 2, "use-offset"),
            code("offset = 3", 3, "define-offset"),
        ],
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _model(train: Any, features: list[str], categorical: list[str]) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in features if c not in categorical]
    prep = ColumnTransformer([("num", StandardScaler(), numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)])
    return make_pipeline(prep, LogisticRegression(max_iter=500))


def seed_lab_workspace(root: Path, home: Path) -> dict[str, Any]:
    """Fill ``home`` (NB2PROD_HOME) and ``root`` (the server root); return what the tests assert on."""
    import numpy as np
    import pandas as pd

    from nb2prod.api import Workspace
    from nb2prod.examples.credit import CATEGORICAL, PROTECTED, TARGET, make_credit_data
    from nb2prod.models import AuditEvent, Feedback, VersionRecord, VersionState
    from nb2prod.package.artifact import load_model

    (root / LINT_NOTEBOOK).write_text(json.dumps(_notebook()), encoding="utf-8")
    train, holdout = make_credit_data(3000, seed=1), make_credit_data(1000, seed=2)
    columns = [c for c in train.columns if c != TARGET]
    model_features = [c for c in columns if c != PROTECTED]  # gender reaches the service, not the model
    model = _model(train, model_features, [c for c in CATEGORICAL if c != PROTECTED])
    model.fit(train[columns], train[TARGET])

    ws = Workspace.open(home)
    deployed = ws.deploy(model, name="credit", data=train[columns], target=train[TARGET],
                         holdout=(holdout[columns], holdout[TARGET]), protected=[PROTECTED], min_metric={"roc_auc": 0.6}, serve=True,
                         port=_free_port())  # other services on this machine may hold 3000 and up
    assert deployed.url, "deploy(serve=True) must start the service"
    live = make_credit_data(300, seed=11, scenario="covariate_shift")
    rows = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in live[columns].to_dict(orient="records")]
    labels = [int(v) for v in live[TARGET]]
    try:
        served = _send_traffic(ws, deployed.url, deployed.version_id, rows, labels)
    finally:
        ws.stop("credit")

    # a day of earlier traffic through the store API, scored by the deployed artifact: 900 rows over
    # the day (the second half drifts) and a steady 600 over the last hour, so both a day and an
    # hour read as curves of full buckets rather than one dot
    record = ws.store.registry.get(deployed.version_id)
    saved = load_model(deployed.deployment_dir)
    earlier = make_credit_data(900, seed=12)
    shifted = make_credit_data(900, seed=13, scenario="covariate_shift")
    recent = make_credit_data(HOUR_ROWS, seed=17, scenario="covariate_shift")
    now = time.time()
    ages = np.concatenate([np.linspace(23 * 3600, 3700, 900), np.linspace(3550, 60, HOUR_ROWS)])
    frame = pd.concat([earlier.iloc[:450], shifted.iloc[450:], recent], ignore_index=True)  # the second half of the day drifts
    proba = saved.predict_proba(frame[columns])[:, 1]
    inputs = frame[columns].to_dict(orient="records")
    history = len(frame)
    ws.store.audit.write([
        AuditEvent(request_id=f"hist-{i}", name="credit", version_id=deployed.version_id, ts=now - float(ages[i]),
                   inputs={k: (v.item() if hasattr(v, "item") else v) for k, v in inputs[i].items()},
                   output=int(proba[i] >= 0.5), score=float(proba[i]), latency_ms=4.0 + i % 7, probabilities=[1 - float(proba[i]), float(proba[i])])
        for i in range(history)
    ])
    ws.store.audit.add_feedback([Feedback(request_id=f"hist-{i}", label=int(frame[TARGET].iloc[i]), ts=now - float(ages[i]) + 60)
                                 for i in range(history)])  # every row labelled: hourly buckets hold the 30 labels a live metric needs

    candidate_id = f"credit-v{time.strftime('%Y%m%dt%H%M%S', time.gmtime(now + 5))}-cand01"
    metrics = {k: (v + 0.004 if isinstance(v, float) else v) for k, v in record.metrics.items()}
    ws.store.registry.add_version(
        VersionRecord.from_dict({**record.to_dict(), "version_id": candidate_id, "parent": record.version_id, "metrics": metrics,
                                 "created_at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now + 5))}),
        state=VersionState.CANDIDATE,
    )
    shadow = _seed_shadow(ws, record, saved, columns, model_features, now)
    approval = _seed_approval(ws, record, train, columns, model_features, now)
    ws.close()
    return {"live": deployed.version_id, "candidate": candidate_id, "served_rows": served, "history_rows": history, **shadow, **approval}


def _version(record: Any, *, name: str, version_id: str, created: datetime, model: Any, holdout: Any, columns: list[str], parent: str | None) -> Any:
    """A version record for ``model`` (registered through the store API): its own hash and holdout metrics."""
    from sklearn.metrics import accuracy_score, roc_auc_score

    from nb2prod.examples.credit import TARGET
    from nb2prod.models import VersionRecord

    proba = model.predict_proba(holdout[columns])[:, 1]
    metrics = {"roc_auc": float(roc_auc_score(holdout[TARGET], proba)), "accuracy": float(accuracy_score(holdout[TARGET], proba >= 0.5))}
    return VersionRecord.from_dict({
        **record.to_dict(), "name": name, "version_id": version_id, "parent": parent, "metrics": metrics,
        "model_hash": hashlib.sha256(pickle.dumps(model)).hexdigest(), "created_at": created.strftime("%Y-%m-%dT%H:%M:%S"),
        "bento_tag": None, "model_tag": None,
    })


def _write_shadowed(ws: Any, name: str, live_id: str, shadow_id: str, frame: Any, columns: list[str], live: Any, shadow: Any,
                    *, label_every: int) -> int:
    """Requests answered by ``live`` and shadowed by ``shadow`` since the shadow started, through the store API; every ``label_every``-th labelled."""
    from nb2prod.examples.credit import TARGET
    from nb2prod.models import AuditEvent, Feedback

    started = next(e.ts for e in ws.store.registry.events(name, limit=5) if e.action == "shadow" and e.version_id == shadow_id)
    live_p = live.predict_proba(frame[columns])[:, 1]
    shadow_p = shadow.predict_proba(frame[columns])[:, 1]
    inputs = frame[columns].to_dict(orient="records")
    step = (time.time() - started) / (len(frame) + 1)  # requests arrive after the shadow started
    events = [
        AuditEvent(request_id=f"{name}-shadow-{i}", name=name, version_id=live_id, ts=started + (i + 1) * step,
                   inputs={k: (v.item() if hasattr(v, "item") else v) for k, v in inputs[i].items()},
                   output=int(live_p[i] >= 0.5), score=float(live_p[i]), probabilities=[1 - float(live_p[i]), float(live_p[i])],
                   latency_ms=4.0 + i % 5, shadow_version=shadow_id, shadow_output=int(shadow_p[i] >= 0.5), shadow_score=float(shadow_p[i]))
        for i in range(len(frame))
    ]
    ws.store.audit.write(events)
    ws.store.audit.add_feedback([Feedback(request_id=e.request_id, label=int(frame[TARGET].iloc[i]), ts=e.ts + 1)
                                 for i, e in enumerate(events) if i % label_every == 0])
    return len(events)


def _seed_shadow(ws: Any, record: Any, saved: Any, columns: list[str], features: list[str], now: float) -> dict[str, Any]:
    """``credit``: a candidate retrained on economic-shift data shadows the live version on real requests; the gate judged it."""
    from nb2prod.examples.credit import CATEGORICAL, PROTECTED, TARGET, make_credit_data

    recent = make_credit_data(3000, seed=14, scenario="economic_shift")
    retrained = _model(recent, features, [c for c in CATEGORICAL if c != PROTECTED]).fit(recent[columns], recent[TARGET])
    shadow_id = f"credit-v{time.strftime('%Y%m%dt%H%M%S', time.gmtime(now + 10))}-shad02"
    ws.store.registry.add_version(_version(
        record, name="credit", version_id=shadow_id, created=datetime.fromtimestamp(now + 10, UTC), model=retrained,
        holdout=make_credit_data(1000, seed=15, scenario="economic_shift"), columns=columns, parent=record.version_id,
    ))
    ws.shadow(f"credit:{shadow_id}", percent=100, actor="ana", reason="retrained on the economic-shift data: compare before promoting")
    traffic = make_credit_data(400, seed=16, scenario="economic_shift")
    rows = _write_shadowed(ws, "credit", record.version_id, shadow_id, traffic, columns, saved, retrained, label_every=2)
    gate = ws.gate("credit", actor="ana")
    comparison = ws.compare("credit")
    assert comparison.overall.n == rows, comparison.overall
    return {"shadow": shadow_id, "shadow_rows": rows, "shadow_gate": gate.verdict, "comparison": comparison.to_dict()}


def _seed_approval(ws: Any, record: Any, train: Any, columns: list[str], features: list[str], now: float) -> dict[str, Any]:
    """``scorecard``: an expired three-feature scorecard, shadowed by the full model; the gate says ``needs_approval``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nb2prod.examples.credit import CATEGORICAL, PROTECTED, TARGET, make_credit_data
    from nb2prod.models import RegistryEvent, Traffic, VersionState

    holdout = make_credit_data(1000, seed=2)
    scorecard = make_pipeline(ColumnTransformer([("num", StandardScaler(), SCORECARD_FEATURES)]), LogisticRegression(max_iter=500))
    scorecard.fit(train[columns], train[TARGET])
    full = _model(train, features, [c for c in CATEGORICAL if c != PROTECTED]).fit(train[columns], train[TARGET])
    born = datetime.fromtimestamp(now, UTC) - timedelta(days=40)
    base_id = f"{SCORECARD}-v{born.strftime('%Y%m%dt%H%M%S')}-base01"
    full_id = f"{SCORECARD}-v{time.strftime('%Y%m%dt%H%M%S', time.gmtime(now))}-full02"
    registry = ws.store.registry
    registry.add_version(_version(record, name=SCORECARD, version_id=base_id, created=born, model=scorecard, holdout=holdout,
                                  columns=columns, parent=None), state=VersionState.LIVE)
    registry.set_traffic(Traffic(name=SCORECARD, live=base_id), RegistryEvent(
        name=SCORECARD, action="deploy", version_id=base_id, actor="ana", reason="first scorecard: income, loan amount, age",
        ts=born.timestamp(),
    ))
    registry.add_version(_version(record, name=SCORECARD, version_id=full_id, created=datetime.fromtimestamp(now, UTC), model=full,
                                  holdout=holdout, columns=columns, parent=base_id))
    ws.shadow(f"{SCORECARD}:{full_id}", percent=100, actor="ana", reason="the full model, before it replaces the scorecard")
    rows = _write_shadowed(ws, SCORECARD, base_id, full_id, make_credit_data(500, seed=31), columns, scorecard, full, label_every=1)
    gate = ws.gate(SCORECARD, actor="ana")
    assert gate.verdict == "needs_approval", gate
    ws.set_retrain_policy(SCORECARD, max_age_days=30, on_alerts=(), actor="ana")
    return {"scorecard_live": base_id, "scorecard_candidate": full_id, "scorecard_rows": rows, "scorecard_gate": gate.to_dict()}


def _send_traffic(ws: Any, url: str, version_id: str, rows: list[dict[str, Any]], labels: list[int]) -> int:
    """Send ``rows`` through the running service and label every other one.

    The guarded service (``/predict_batch``, ``/feedback``) writes the audit rows itself. The
    minimal service (``/predict`` only) does not audit: then its answers are written to the
    audit store here, through the store API, as the guarded runtime would.
    """
    import uuid

    import httpx

    from nb2prod.models import AuditEvent, Feedback
    from nb2prod.package.service_token import read_token

    auth = {"authorization": f"Bearer {read_token(ws.settings.home)}"}  # /feedback is protected
    with httpx.Client(base_url=url, timeout=60, headers=auth) as http:
        guarded = "/predict_batch" in http.get("/docs.json").json().get("paths", {})
        answered: list[dict[str, Any]] = []
        for start in range(0, len(rows), 100):
            batch = rows[start : start + 100]
            answer = http.post("/predict_batch" if guarded else "/predict", json={"rows": batch})
            answer.raise_for_status()
            answered += answer.json()["predictions"]
        if guarded:
            ids = [p["request_id"] for p in answered]
            for i in range(0, len(ids), 2):
                http.post("/feedback", json={"request_id": ids[i], "label": labels[i]}).raise_for_status()
            return len(ids)
    now = time.time()
    events = [
        AuditEvent(request_id=uuid.uuid4().hex, name="credit", version_id=version_id, ts=now - (len(rows) - i) * 0.5, inputs=rows[i],
                   output=p["prediction"], score=p["score"], probabilities=p.get("probabilities"), violations=p.get("violations") or [])
        for i, p in enumerate(answered)
    ]
    ws.store.audit.write(events)
    ws.store.audit.add_feedback([Feedback(request_id=e.request_id, label=labels[i], ts=now) for i, e in enumerate(events) if i % 2 == 0])
    return len(events)
