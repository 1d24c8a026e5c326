"""XGBoost, LightGBM and CatBoost models are saved in their own formats and load back answering as in the notebook;
deep-learning objects are refused in one line that says what would work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nb2prod.errors import InvalidInputError
from nb2prod.package.artifact import load_model, save_model
from nb2prod.package.evaluate import describe_model


def _data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=240), "k": pd.Categorical(rng.choice(["a", "b", "c"], size=240)),
                          "m": rng.integers(0, 5, size=240)})
    frame.loc[::7, "x"] = np.nan
    return frame, ((frame["x"].fillna(0) > 0) ^ (frame["k"] == "a")).astype(int) + (frame["m"] > 2).astype(int)


def _models() -> list[Any]:
    models: list[Any] = []
    frame, target = _data()
    try:
        import xgboost

        models += [("xgboost", "model.ubj", frame, xgboost.XGBClassifier(n_estimators=8, enable_categorical=True, n_jobs=1).fit(frame, target)),
                   ("xgboost", "model.ubj", frame, xgboost.XGBRegressor(n_estimators=8, enable_categorical=True, n_jobs=1).fit(frame, frame["m"] * 1.5))]
    except ImportError:
        pass
    try:
        import lightgbm

        labels = target.map({0: "low", 1: "mid", 2: "high"})
        models += [("lightgbm", "model.txt", frame, lightgbm.LGBMClassifier(n_estimators=8, n_jobs=1, verbose=-1).fit(frame, labels)),
                   ("lightgbm", "model.txt", frame, lightgbm.LGBMClassifier(n_estimators=8, n_jobs=1, verbose=-1).fit(frame, target > 0)),
                   ("lightgbm", "model.txt", frame, lightgbm.LGBMRegressor(n_estimators=8, n_jobs=1, verbose=-1).fit(frame, frame["m"] * 1.5))]
    except ImportError:
        pass
    try:
        import catboost

        text = frame.assign(k=frame["k"].astype(str))
        models += [("catboost", "model.cbm", text, catboost.CatBoostClassifier(iterations=10, verbose=0, thread_count=1, cat_features=["k"])
                    .fit(text, target.map({0: "low", 1: "mid", 2: "high"}))),
                   ("catboost", "model.cbm", text, catboost.CatBoostRegressor(iterations=10, verbose=0, thread_count=1, cat_features=["k"])
                    .fit(text, frame["m"] * 1.5))]
    except ImportError:
        pass
    return models


MODELS = _models()


@pytest.mark.skipif(not MODELS, reason="none of xgboost, lightgbm, catboost is installed")
@pytest.mark.parametrize(("library", "filename", "frame", "model"), MODELS,
                         ids=[f"{m[0]}-{type(m[3]).__name__}-{i}" for i, m in enumerate(MODELS)])
def test_native_models_are_saved_in_their_own_format_and_answer_as_in_the_notebook(
    tmp_path: Path, library: str, filename: str, frame: pd.DataFrame, model: Any,
) -> None:
    saved = save_model(model, tmp_path)
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert saved.path.name == filename and manifest["model_file"] == filename and manifest["native"]["library"] == library
    assert not (tmp_path / "model" / "model.pkl").exists() and saved.modules == {library}
    back = load_model(tmp_path)
    assert np.array_equal(np.asarray(back.predict(frame)).ravel(), np.asarray(model.predict(frame)).ravel())
    info = describe_model(model)
    if info.task != "regression":
        assert np.array_equal(back.predict_proba(frame), model.predict_proba(frame))
        assert [c.item() if hasattr(c, "item") else c for c in back.classes_] == info.classes


def test_a_native_model_whose_library_is_missing_fails_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"\0")
    (folder / "manifest.json").write_text(json.dumps({"model_file": "model.bin", "native": {"library": "nosuchboost"}}))
    with pytest.raises(InvalidInputError, match="saved by 'nosuchboost', which nb2prod cannot load"):
        load_model(tmp_path)


@pytest.mark.parametrize(("module", "words"), [("torch.nn.modules.module", "skorch"), ("keras.src.models.model", "scikeras")])
def test_a_live_deep_learning_model_is_refused_saying_what_would_work(module: str, words: str) -> None:
    live = type("Net", (), {"__module__": module, "predict": lambda self, x: x})()
    with pytest.raises(InvalidInputError) as info:
        describe_model(live)
    assert "nb2prod serves scikit-learn-API estimators" in info.value.message and words in (info.value.fix or "")
