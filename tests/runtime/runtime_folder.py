"""Build a real deployment folder (per docs/design.md) for runtime tests and the service benchmark.

Mirrors what ``%deploy`` writes: the example credit pipeline (a notebook-defined transformer
re-homed into ``model/nb_captured.py`` + ColumnTransformer + HistGradientBoostingClassifier),
a logistic-regression baseline, ``sample.json`` and ``deployment.json``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import pickle
import platform
import sys
from pathlib import Path
from typing import Any

CAPTURED = '''
import os
import time
from pathlib import Path

from sklearn.base import BaseEstimator, TransformerMixin


class FaultInjector(BaseEstimator, TransformerMixin):
    """Test hook: passes rows through, unless ``fault_file`` says ``raise``, ``slow <seconds>`` (per call), ``per-row <seconds>``, ``crash`` or
    ``hold`` (wait until the test removes or rewrites the file, at most 60 s: a gate tests order events by)."""

    def __init__(self, fault_file=None):
        self.fault_file = fault_file

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        if self.fault_file and Path(self.fault_file).exists():
            fault = Path(self.fault_file).read_text().split()
            if fault and fault[0] == "raise":
                raise RuntimeError("injected model failure")
            if fault and fault[0] == "slow":
                time.sleep(float(fault[1]))
            if fault and fault[0] == "per-row":  # compute that grows with the batch, as a real model's does
                time.sleep(float(fault[1]) * len(X))
            if fault and fault[0] == "crash":  # only ever written for a shadow version (its own process)
                os._exit(139)
            if fault and fault[0] == "hold":
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and self._says_hold():
                    time.sleep(0.01)
        return X

    def _says_hold(self):
        try:
            return Path(self.fault_file).read_text().split()[:1] == ["hold"]
        except OSError:
            return False


class AffordabilityRatios(BaseEstimator, TransformerMixin):
    """Adds loan-to-income and monthly payment burden; passes other columns through."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        X = X.copy()
        monthly_payment = X["loan_amount"] * (1 + X["interest_rate"] / 100 * X["loan_term_months"] / 12) / X["loan_term_months"]
        X["loan_to_income"] = X["loan_amount"] / X["income"].clip(lower=1)
        X["payment_burden"] = monthly_payment / (X["income"].clip(lower=1) / 12)
        return X
'''

NUMERIC = ["age", "income", "employment_years", "loan_amount", "loan_term_months", "interest_rate",
           "debt_to_income", "credit_lines", "late_payments_2y", "credit_utilization"]  # fmt: skip
CATEGORICAL = ["home_ownership", "purpose", "region"]
INTS = {"age", "loan_term_months", "credit_lines", "late_payments_2y"}


MODULE = "nb2prod_captured_runtimetests"


def _captured_module(model_dir: Path) -> Any:
    """The notebook transformer as ``%deploy`` re-homes it: a captured module with a unique name."""
    source = model_dir / "nb_captured.py"
    source.write_text(CAPTURED)
    module = sys.modules.get(MODULE)
    if module is None:
        spec = importlib.util.spec_from_file_location(MODULE, source)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE] = module
        spec.loader.exec_module(module)
    return module


def _write_model(model_dir: Path, model: Any, baseline: Any) -> None:
    """model.pkl, baseline.pkl and manifest.json in the layout of nb2prod.package.artifact."""
    data = pickle.dumps(model, protocol=5)
    (model_dir / "model.pkl").write_bytes(data)
    (model_dir / "baseline.pkl").write_bytes(pickle.dumps(baseline, protocol=5))
    manifest = {
        "format": "nb2prod.model/1",
        "model_file": "model.pkl",
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "pickle_protocol": 5,
        "sha256": hashlib.sha256(data).hexdigest(),
        "captured_module": MODULE,
        "captured_file": "nb_captured.py",
        "python": platform.python_version(),
    }
    (model_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))


def _features(frame: Any) -> list[dict[str, Any]]:
    features = []
    for column in frame.columns:
        if column in CATEGORICAL or column == "gender":
            features.append({"name": column, "dtype": "category", "nullable": False,
                             "categories": sorted(frame[column].unique().tolist())})  # fmt: skip
        else:
            dtype = "int" if column in INTS else "float"
            features.append({"name": column, "dtype": dtype, "nullable": False,
                             "min": float(frame[column].min()), "max": float(frame[column].max())})  # fmt: skip
    return features


def build_deployment(
    root: Path,
    *,
    name: str = "credit",
    version_id: str = "credit-v1",
    n: int = 2000,
    fallback: dict[str, Any] | None = None,
    store_url: str | None = None,
    timeout_ms: float = 250.0,
    explain: dict[str, Any] | None = None,
    health: dict[str, Any] | None = None,
    guardrails: dict[str, Any] | None = None,
    model: Any = None,
    max_iter: int = 150,
    fault_injection: bool = False,
) -> Path:
    """Train, pickle and describe the example model under ``root/<name>/<version_id>/``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from threadpoolctl import threadpool_limits

    from nb2prod.examples.credit import TARGET, make_credit_data

    threadpool_limits(1)  # OpenMP thread pools crawl on a shared 2-core machine (112 s vs 2 s to fit)
    folder = root / name / version_id
    model_dir = folder / "model"
    model_dir.mkdir(parents=True)
    captured = _captured_module(model_dir)
    data = make_credit_data(n, seed=7)
    X, y = data.drop(columns=[TARGET]), data[TARGET]
    train, hold = X.iloc[: int(n * 0.8)], X.iloc[int(n * 0.8) :]
    if model is None:
        fault = [("fault", captured.FaultInjector(str(folder / "FAULT")))] if fault_injection else []
        model = Pipeline([
            *fault,
            ("ratios", captured.AffordabilityRatios()),
            ("encode", ColumnTransformer(
                [("num", "passthrough", [*NUMERIC, "loan_to_income", "payment_burden"]),
                 ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL)],
                remainder="drop")),
            ("classify", HistGradientBoostingClassifier(max_iter=max_iter, learning_rate=0.08, random_state=0)),
        ])  # fmt: skip
    model.fit(train, y.iloc[: len(train)])
    baseline = Pipeline([
        ("encode", ColumnTransformer([("num", StandardScaler(), NUMERIC)], remainder="drop")),
        ("classify", LogisticRegression(max_iter=500)),
    ])  # fmt: skip
    baseline.fit(train, y.iloc[: len(train)])
    _write_model(model_dir, model, baseline)
    rows = hold.head(20)
    proba = model.predict_proba(rows)[:, 1]
    sample = {
        "rows": json.loads(rows.to_json(orient="records")),
        "predictions": [int(p >= 0.5) for p in proba],
        "scores": [float(p) for p in proba],
    }
    (folder / "sample.json").write_text(json.dumps(sample))
    spec = {
        "name": name,
        "version_id": version_id,
        "task": "binary",
        "classes": [0, 1],
        "positive_class": 1,
        "threshold": 0.5,
        "features": _features(train),
        "protected": ["gender"],
        "guardrails": guardrails or {"max_violations": 0},
        "fallback": fallback or {"strategy": "baseline", "constant": 0, "previous_version": None},
        "timeout_ms": timeout_ms,
        "explain": explain or {"method": "tree", "sample_rate": 0.05},
        "health": health or {"max_error_rate": 0.2, "window": 200},
        "store_url": store_url or f"sqlite:///{root / 'nb2prod.db'}",
        "model_file": "model/model.pkl",
        "baseline_file": "model/baseline.pkl",
        "sample_file": "sample.json",
        "reference_file": "reference.json",
    }
    (folder / "deployment.json").write_text(json.dumps(spec, indent=2))
    return folder


def sample_rows(folder: Path) -> list[dict[str, Any]]:
    return json.loads((folder / "sample.json").read_text())["rows"]


def render_service(folder: Path, *, service_class: str = "CreditService") -> Path:
    """Render templates/service.py.j2 into ``folder`` with the context %deploy passes."""
    import jinja2

    spec = json.loads((folder / "deployment.json").read_text())
    templates = Path(__file__).resolve().parents[2] / "templates"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    text = env.get_template("service.py.j2").render(
        name=spec["name"], version_id=spec["version_id"], service_class=service_class, deployment_dir=str(folder)
    )
    (folder / "service.py").write_text(text)
    return folder / "service.py"
