"""The compiled numpy predict path: chosen only when it gives the pipeline's exact output on every sample row."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from runtime_folder import sample_rows

from nb2prod.runtime import compiled
from nb2prod.runtime.loading import load_model
from nb2prod.runtime.predictor import Predictor, make_frame
from nb2prod.runtime.spec import Task, TaskSpec, load_spec


def _frame(n: int = 60, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(20, 70, n),
        "income": rng.normal(50_000, 12_000, n),
        "region": rng.choice(["north", "south", "east"], n),
        "purpose": rng.choice(["car", "home", "business", "other"], n),
    })  # fmt: skip


def _fit(encode: Any, final: Any = None) -> tuple[Any, pd.DataFrame]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    frame = _frame()
    y = (frame["income"] > 50_000).astype(int) ^ (frame["region"] == "east").astype(int)
    model = Pipeline([("encode", encode), ("classify", final or LogisticRegression(max_iter=500))]).fit(frame, y)
    return model, frame


def _standard() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    return ColumnTransformer([
        ("num", StandardScaler(), ["age", "income"]),
        ("cat", OneHotEncoder(sparse_output=False), ["region", "purpose"]),
    ])  # fmt: skip


@dataclass(frozen=True)
class _Spec(TaskSpec):
    feature_names: tuple[str, ...] = ()


def _predictor(model: Any) -> Predictor:
    spec = _Spec(task=Task.BINARY, classes=(0, 1), positive_class=1, threshold=0.5, score_method="predict_proba",
                 feature_names=tuple(_frame().columns))  # fmt: skip
    return Predictor(model, spec)


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(r) for r in frame.to_dict(orient="records")]


def test_the_example_pipeline_serves_through_the_compiled_path_with_identical_answers(credit_folder: Path) -> None:
    spec = load_spec(credit_folder)
    rows = sample_rows(credit_folder)
    plain = Predictor(load_model(credit_folder), spec)
    fast = Predictor(load_model(credit_folder), spec)
    path = fast.use_fast_path(rows)
    assert path.name == "numpy", path.reason
    assert path.to_dict()["predict_path"] == "numpy"
    ours, theirs = fast.predict_rows(rows), plain.predict_rows(rows)
    assert ours.decisions == theirs.decisions
    assert ours.scores == theirs.scores
    assert np.array_equal(ours.transformed, theirs.transformed)


def test_scaler_and_encoder_compile_and_an_unknown_category_still_fails_as_the_pipeline_does() -> None:
    model, frame = _fit(_standard())
    predictor = _predictor(model)
    assert predictor.use_fast_path(_rows(frame)).name == "numpy"
    transform, _ = compiled.compile_transform(model[:-1])
    assert transform is not None
    assert np.array_equal(transform(frame), model[:-1].transform(frame))
    bad = frame.head(2).assign(region=["north", "mars"])
    with pytest.raises(ValueError, match="unknown categor"):
        predictor.predict_rows(_rows(bad))  # the compiled path declines the row; the pipeline's own error is raised


def test_a_transformer_without_a_numpy_path_keeps_the_pipeline() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    model, frame = _fit(ColumnTransformer([("num", SimpleImputer(), ["age", "income"]),
                                           ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"])]))  # fmt: skip
    path = _predictor(model).use_fast_path(_rows(frame))
    assert path.name == "sklearn"
    assert "SimpleImputer" in path.reason


def test_a_compiled_path_whose_output_differs_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    model, frame = _fit(_standard())
    real = compiled.compile_transform

    def off_by_a_little(prefix: Any) -> tuple[Any, str]:
        transform, why = real(prefix)
        assert transform is not None

        def wrong(f: pd.DataFrame) -> Any:
            out = transform(f)
            out[-1, 0] += 1e-9  # one entry of one row: enough to refuse
            return out

        return wrong, why

    monkeypatch.setattr(compiled, "compile_transform", off_by_a_little)
    predictor = _predictor(model)
    path = predictor.use_fast_path(_rows(frame))
    assert path.name == "sklearn"
    assert "differs" in path.reason
    out = predictor.predict_rows(_rows(frame))  # and the pipeline itself serves
    expected = model.predict_proba(make_frame(_rows(frame), list(frame.columns)))[:, 1]
    assert out.scores == expected.tolist()


def test_the_runtime_reports_its_predict_path_and_the_setting_that_turns_it_off(
    credit_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nb2prod.runtime import GuardedRuntime

    with GuardedRuntime.load(credit_folder, store_url=f"sqlite:///{tmp_path / 'a.db'}", spool_dir=tmp_path / "a") as rt:
        assert rt.status()["predict_path"]["predict_path"] == "numpy"
        fast = rt.predict(sample_rows(credit_folder)[:3])
    monkeypatch.setenv("NB2PROD_PREDICT_PATH", "sklearn")
    with GuardedRuntime.load(credit_folder, store_url=f"sqlite:///{tmp_path / 'b.db'}", spool_dir=tmp_path / "b") as rt:
        assert rt.status()["predict_path"] == {"predict_path": "sklearn", "reason": "NB2PROD_PREDICT_PATH=sklearn"}
        plain = rt.predict(sample_rows(credit_folder)[:3])
    assert [(p.prediction, p.score) for p in fast] == [(p.prediction, p.score) for p in plain]


def test_the_fresh_process_proof_names_the_predict_path_for_the_version_record(credit_folder: Path) -> None:
    from nb2prod.package.proof import start_proof

    sample = json.loads((credit_folder / "sample.json").read_text())
    result = start_proof(credit_folder).wait({"predictions": sample["predictions"], "scores": sample["scores"]})
    assert result["ok"]
    assert result["predict_path"]["predict_path"] == "numpy", result["predict_path"]
    assert "fresh process" in result["predict_path"]["reason"]


def test_the_proof_refuses_a_compiled_path_whose_answers_differ_from_the_notebook() -> None:
    from nb2prod.package.proof import _proven_path

    expected = {"predictions": [0, 1, 1], "scores": [0.1, 0.7, 0.9]}
    numpy_path = {"predict_path": "numpy", "reason": "identical to Pipeline.transform on all 3 sample rows"}
    same = {"predict_path": numpy_path, "fast_predictions": [0, 1, 1], "fast_scores": [0.1, 0.7, 0.9]}
    assert _proven_path(expected, same)["predict_path"] == "numpy"
    differs = {**same, "fast_predictions": [0, 0, 1], "fast_scores": [0.1, 0.4, 0.9]}
    refused = _proven_path(expected, differs)
    assert refused["predict_path"] == "sklearn"
    assert "differs from the notebook on 1 of 3" in refused["reason"]
