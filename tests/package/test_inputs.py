"""Request rows rebuilt at the training dtypes: categories, datetimes, integer widths, missing values.

The deploy-time proof and the service build the model's frame with the same function
(``runtime.predictor.make_frame``); a model fitted on a ``category`` column (LightGBM, XGBoost)
or with NaN in its inputs must answer the JSON rows exactly as it answered the notebook's frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nb2prod.package.proof import frame_from_rows, sample_rows
from nb2prod.package.schema import infer_schema
from nb2prod.runtime.predictor import make_frame
from nb2prod.runtime.spec import FeatureSpec


def _frame(n: int = 300) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "x": rng.normal(size=n),
        "colour": pd.Categorical(rng.choice(["red", "green", "blue"], size=n)),
        "size": pd.Categorical(rng.choice([1, 2, 3], size=n)),
        "count": rng.integers(0, 9, size=n).astype("int32"),
        "flag": rng.random(n) > 0.5,
    })
    frame.loc[::9, "x"] = np.nan
    target = ((frame["x"].fillna(0) > 0) ^ (frame["colour"] == "red") ^ (frame["size"] == 3)).astype(int)
    return frame, target


def test_rows_rebuilt_from_json_keep_every_training_dtype() -> None:
    frame, _ = _frame()
    schema = infer_schema(frame)
    back = frame_from_rows(sample_rows(frame, len(frame)), schema)
    assert back.dtypes.to_dict() == frame.dtypes.to_dict()
    assert list(back["size"].cat.categories) == [1, 2, 3] and list(back["colour"].cat.categories) == ["blue", "green", "red"]
    pd.testing.assert_frame_equal(back, frame.reset_index(drop=True))


def test_integer_categories_sent_as_text_unseen_categories_and_nulls() -> None:
    frame, _ = _frame()
    specs = [FeatureSpec.parse(f, Path("."), i) for i, f in enumerate(infer_schema(frame))]
    names = [s.name for s in specs]
    rows = [{"x": None, "colour": "purple", "size": "3", "count": 4, "flag": True},
            {"x": 1.5, "colour": "red", "size": 2, "count": None, "flag": False}]
    built = make_frame(rows, names, specs)
    assert built["size"].tolist() == [3, 2] and str(built["size"].dtype) == "category"
    assert pd.isna(built.loc[0, "colour"]) and built.loc[1, "colour"] == "red"  # unseen → missing, as pandas would
    assert np.isnan(built.loc[0, "x"]) and np.isnan(built.loc[1, "count"]) and built["count"].dtype == np.float64


@pytest.mark.parametrize(("dtype", "sent", "expected"), [
    ("datetime64[ns]", ["2024-03-01T10:00:00", "2024-03-01T12:00:00+02:00"], ["2024-03-01 10:00", "2024-03-01 10:00"]),
    ("datetime64[ns, UTC]", ["2024-03-01T10:00:00Z", "2024-03-01T11:00:00+01:00"], ["2024-03-01 10:00Z", "2024-03-01 10:00Z"]),
])
def test_iso_8601_datetimes_are_parsed_back_to_the_training_dtype(dtype: str, sent: list[str], expected: list[str]) -> None:
    spec = FeatureSpec.parse({"name": "when", "dtype": "datetime", "frame_dtype": dtype}, Path("."), 0)
    built = make_frame([{"when": s} for s in sent], ["when"], [spec])
    assert str(built["when"].dtype) == dtype
    assert built["when"].tolist() == [pd.Timestamp(e) for e in expected]
    training = pd.DataFrame({"when": pd.to_datetime(expected).astype(dtype)})
    assert [f["frame_dtype"] for f in infer_schema(training)] == [dtype]


def test_a_lightgbm_model_on_category_columns_and_nans_answers_json_rows_as_the_notebook() -> None:
    lightgbm = pytest.importorskip("lightgbm")
    frame, target = _frame()
    model = lightgbm.LGBMClassifier(n_estimators=15, min_child_samples=5, n_jobs=1, verbose=-1).fit(frame, target)
    back = frame_from_rows(sample_rows(frame, len(frame)), infer_schema(frame))
    assert (model.predict(back) == model.predict(frame)).all()
    assert np.array_equal(model.predict_proba(back), model.predict_proba(frame))


def test_a_frame_with_a_bad_frame_dtype_is_refused_naming_the_field() -> None:
    with pytest.raises(Exception, match=r"features\[0\].frame_dtype"):
        FeatureSpec.parse({"name": "x", "dtype": "float", "frame_dtype": "no-such-dtype"}, Path("."), 0)
    with pytest.raises(Exception, match=r"features\[0\].frame_categories"):
        FeatureSpec.parse({"name": "x", "dtype": "category", "frame_dtype": "category"}, Path("."), 0)


def test_a_null_is_accepted_at_the_door_only_where_the_model_takes_it() -> None:
    from pydantic import ValidationError

    from nb2prod.runtime.schema import build_schema
    from nb2prod.runtime.spec import DeploymentSpec

    guard = {"low": 0, "high": 10, "used": True, "policy": "warn"}
    raw = {"name": "m", "version_id": "v", "task": "regression", "features": [
        {"name": "takes_nan", "dtype": "float", "min": 0, "max": 1, "guard": {**guard, "rejects": []}},
        {"name": "refuses_nan", "dtype": "float", "min": 0, "max": 1, "guard": {**guard, "rejects": ["missing"]}},
        {"name": "old_folder", "dtype": "float", "min": 0, "max": 1},
    ]}
    features = build_schema(DeploymentSpec.parse(raw, Path("."))).features
    row = {"takes_nan": None, "refuses_nan": 0.5, "old_folder": 0.5}
    assert features.model_validate(row).model_dump()["takes_nan"] is None
    for name in ("refuses_nan", "old_folder"):
        with pytest.raises(ValidationError, match=name):
            features.model_validate({**row, "takes_nan": 0.5, name: None})
    with pytest.raises(ValidationError, match="takes_nan"):  # still required: null must be sent, not left out
        features.model_validate({"refuses_nan": 0.5, "old_folder": 0.5})


def test_free_text_and_datetimes_are_typed_and_left_out_of_the_drift_reference() -> None:
    from nb2prod.package.schema import drift_columns

    frame = pd.DataFrame({
        "review": ["fast friendly delivery", "the parcel was late", "great box today", None],  # few rows, still text
        "store": ["rome", "paris", "rome", "berlin"],
        "code": [f"z{i}" for i in range(4)],
        "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]),
        "basket": [1.0, 2.0, None, 4.0],
    })
    schema = {f["name"]: f for f in infer_schema(frame)}
    assert schema["review"]["dtype"] == "string" and schema["review"]["text"] and "categories" not in schema["review"]
    assert schema["store"]["dtype"] == "category" and "text" not in schema["store"]
    assert drift_columns(list(schema.values())) == (["store", "code", "basket"], ["store", "code"])


def test_a_null_in_a_text_column_reaches_the_model_as_nan_like_pandas_reads_it() -> None:
    frame = pd.DataFrame({"store": ["rome", None, "paris"], "basket": [1.0, 2.0, 3.0]})
    specs = [FeatureSpec.parse(f, Path("."), i) for i, f in enumerate(infer_schema(frame))]
    built = make_frame([{"store": None, "basket": 1.0}, {"store": "rome", "basket": 2.0}], ["store", "basket"], specs)
    assert isinstance(built.loc[0, "store"], float) and np.isnan(built.loc[0, "store"]) and built.loc[1, "store"] == "rome"
