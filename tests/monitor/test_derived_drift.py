"""Datetime and free-text inputs drift by what they say, not by their raw values: the reference keeps
a datetime's hour/weekday/month (the parts that vary in training) and a text's lengths; the live
requests' ISO-8601 strings and texts are folded into the same derived columns at write time; the
profile path and the row path agree. Uses the reviews notebook of the test corpus (TfidfVectorizer
on a text column, an hourly timestamp over a year)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nb2prod.monitor.derived import derived_inputs
from nb2prod.monitor.drift import compute_drift, compute_drift_profile
from nb2prod.monitor.profile import Profile
from nb2prod.package.deploy.folder import reference_for
from nb2prod.package.schema import drift_columns, infer_schema

NOTEBOOK = Path(__file__).resolve().parents[1] / "package" / "notebooks" / "reviews_text_dates.ipynb"


@pytest.fixture(scope="module")
def trained() -> dict[str, Any]:
    import nbformat

    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
            if cell.cell_type == "code":
                exec(compile(cell.source, str(NOTEBOOK), "exec"), namespace)
    frame = namespace["X_train"]
    schema = infer_schema(frame)
    columns, categorical = drift_columns(schema)
    datetimes = [f["name"] for f in schema if f.get("dtype") == "datetime"]
    texts = [f["name"] for f in schema if f.get("text")]
    reference = json.loads(json.dumps(reference_for(frame[[*columns, *datetimes, *texts]], categorical,
                                                    datetimes=datetimes, texts=texts)))
    return {"ns": namespace, "reference": reference, "datetimes": datetimes, "texts": texts}


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Audit rows as the service stores them: the request's JSON values (timestamps as ISO-8601 strings)."""
    rows = []
    for i, record in enumerate(frame.to_dict("records")):
        inputs = {k: (v.isoformat() if isinstance(v, pd.Timestamp) else None if isinstance(v, float) and np.isnan(v) else v)
                  for k, v in record.items()}
        rows.append({"ts": 1_700_000_000.0 + i, "inputs": inputs, "output": "happy", "score": 0.7, "latency_ms": 2.0})
    return rows


def _drift(reference: dict[str, Any], frame: pd.DataFrame) -> dict[str, tuple[bool, int]]:
    rows = _rows(frame)
    profile = Profile()
    profile.fold(rows)
    by_profile = compute_drift_profile(reference, profile)
    by_rows = compute_drift(reference, pd.DataFrame([r["inputs"] for r in rows]))
    seen = {f.feature: (f.drifted, f.n_current) for f in by_profile.features}
    assert seen == {f.feature: (f.drifted, f.n_current) for f in by_rows.features}  # both paths derive the same parts
    return seen


def test_the_reference_sketches_parts_and_lengths_never_the_raw_columns(trained: dict[str, Any]) -> None:
    features = trained["reference"]["features"]
    assert trained["datetimes"] == ["posted"] and trained["texts"] == ["review"]
    assert "posted" not in features and "review" not in features
    assert {features[f"posted.{p}"]["kind"] for p in ("hour", "weekday", "month")} == {"categorical"}
    assert set(features["posted.weekday"]["counts"]) == {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
    assert len(features["posted.hour"]["counts"]) == 24 and features["review.words"]["kind"] == "numeric"
    assert features["review.words"]["min"] >= 3 and features["store"]["kind"] == "categorical"


def test_a_part_that_never_varies_in_training_is_left_out() -> None:
    frame = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=90, freq="D"), "x": np.arange(90.0)})
    features = reference_for(frame, [], datetimes=["day"])["features"]
    assert "day.hour" not in features and {"day.weekday", "day.month", "x"} <= set(features)


def test_later_dates_of_the_same_population_are_not_drifted(trained: dict[str, Any]) -> None:
    test = trained["ns"]["X_test"].copy()
    test["posted"] = test["posted"] + pd.Timedelta(days=364)  # a year later: every raw timestamp is new, the parts are not
    seen = _drift(trained["reference"], test)
    assert seen["posted.hour"] == (False, len(test)) and not seen["posted.weekday"][0] and not seen["posted.month"][0]
    assert not seen["review.chars"][0] and not seen["review.words"][0]


def test_requests_all_at_night_and_longer_texts_are_drifted(trained: dict[str, Any]) -> None:
    test = trained["ns"]["X_test"].copy()
    test["posted"] = test["posted"].dt.normalize() + pd.Timedelta(hours=3)
    test["review"] = test["review"] + " " + test["review"] + " " + test["review"]
    seen = _drift(trained["reference"], test)
    assert seen["posted.hour"][0] and not seen["posted.month"][0]
    assert seen["review.words"][0] and seen["review.chars"][0] and not seen["store"][0]


def test_derived_inputs_leave_numbers_and_labels_alone_and_missing_parts_missing() -> None:
    derived = dict(derived_inputs([
        ("posted", ["2024-03-04T05:06:07Z", None, "2024-12-31T23:00:00+02:00"]),
        ("store", ["rome", "paris", "rome"]),
        ("basket", [1.5, None, 3.0]),
        ("note", ["a very long note", "three words here", None]),
    ]))
    # an offset is read as the service reads it: UTC wall time (23:00+02:00 is 21:00)
    assert derived["posted.hour"] == ["05", None, "21"] and derived["posted.weekday"] == ["Mon", None, "Tue"]
    assert derived["posted.month"] == ["Mar", None, "Dec"]
    assert derived["note.words"] == [4, 3, None] and derived["note.chars"] == [16, 16, None]
    assert not any(k.startswith(("store.", "basket.")) for k in derived)


def test_parsed_timestamps_and_nat_derive_like_iso_strings() -> None:
    moments = pd.Series(pd.to_datetime(["2024-03-04T05:06:07", None]))
    derived = dict(derived_inputs([("posted", moments.tolist())]))
    assert derived["posted.hour"] == ["05", None] and derived["posted.month"] == ["Mar", None]
