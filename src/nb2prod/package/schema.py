"""Input schema and guardrails inferred from the training frame; schema compatibility.

Each feature: ``name``, ``dtype`` (``int`` | ``float`` | ``bool`` | ``category`` | ``string`` |
``datetime``), ``nullable`` (missing values seen in training), and guardrails: the observed
``min``/``max`` for numbers, the known ``categories`` for categorical columns. The generated API
validates requests against names, types and nullability (pydantic, a 4xx naming the field);
guardrails are not errors — values outside them are recorded as violations (settings:
:mod:`nb2prod.package.guard_policy`; checks: :mod:`nb2prod.runtime.guardrails`). ``frame_dtype``
(and a ``category`` column's ``frame_categories``) let the service rebuild the training dtypes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nb2prod.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_CATEGORIES",
    "as_frame",
    "drift_columns",
    "infer_schema",
    "schema_changes",
]

MAX_CATEGORIES = 200


def as_frame(data: Any, *, columns: Sequence[str] | None = None, what: str = "data") -> pd.DataFrame:
    """``data`` as a DataFrame: DataFrames as is; arrays/lists of rows get ``columns`` (or f0, f1…)."""
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, pd.Series):
        frame = data.to_frame()
    else:
        try:
            array = np.asarray(data)
        except Exception as exc:
            raise InvalidInputError(f"{what} is a {type(data).__name__}, not a table", fix="pass a pandas DataFrame") from exc
        if array.ndim != 2:
            raise InvalidInputError(
                f"{what} must be a 2-D table of rows, got a {array.ndim}-D {type(data).__name__}",
                fix="pass a pandas DataFrame (one row per example)",
            )
        names = list(columns) if columns is not None and len(columns) == array.shape[1] else [f"f{i}" for i in range(array.shape[1])]
        frame = pd.DataFrame(array, columns=names)
    if len(frame) == 0:
        raise InvalidInputError(f"{what} has no rows", fix="pass the frame the model was trained on")
    bad = [c for c in frame.columns if not isinstance(c, str)]
    if bad:
        frame = frame.rename(columns={c: str(c) for c in bad})
    if frame.columns.duplicated().any():
        dupes = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise InvalidInputError(f"{what} has duplicate column names: {', '.join(dupes)}", fix="rename the columns")
    return frame


def _dtype_of(series: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "float"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if isinstance(series.dtype, pd.CategoricalDtype):
        return "category"
    values = series.dropna()
    if len(values) and not all(isinstance(v, str) for v in values.head(1000)):
        kinds = {type(v).__name__ for v in values.head(1000)}
        raise InvalidInputError(
            f"column {series.name!r} mixes value types ({', '.join(sorted(kinds))})",
            fix=f"convert {series.name!r} to one type (e.g. .astype(str)) before fitting and deploying",
        )
    if _is_text(values):  # free text: never a closed set of categories, however few rows
        return "string"
    unique = values.nunique()
    return "category" if unique <= MAX_CATEGORIES else "string"


def _is_text(series: pd.Series) -> bool:
    """Free text rather than many labels: most values hold three words or more."""
    words = series.dropna().head(1000).astype(str).str.split().str.len()
    return bool(len(words)) and float(words.median()) >= 3


def _frame_dtype(series: pd.Series) -> str:
    """The column's pandas dtype as the service rebuilds it (``category``, ``datetime64[ns, UTC]``, ``int32``…)."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return str(series.dtype)
    return "object"


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    value = item() if callable(item) else value
    return value.isoformat() if hasattr(value, "isoformat") else value


def _number(value: Any) -> float | int | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or math.isinf(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def infer_schema(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The ``features`` list of ``deployment.json``, in column order."""
    features: list[dict[str, Any]] = []
    for name in frame.columns:
        series = frame[name]
        dtype = _dtype_of(series)
        feature: dict[str, Any] = {"name": str(name), "dtype": dtype, "nullable": bool(series.isna().any()),
                                   "frame_dtype": _frame_dtype(series)}
        if feature["frame_dtype"] == "category":
            feature["frame_categories"] = [_plain(c) for c in series.cat.categories]
        if dtype in {"int", "float"}:
            feature["min"] = _number(series.min())
            feature["max"] = _number(series.max())
        elif dtype == "category":
            feature["categories"] = sorted({str(v) for v in series.dropna().unique()})
        elif dtype == "string" and _is_text(series):
            feature["text"] = True
        features.append(feature)
    return features


def drift_columns(features: Sequence[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """``(columns to sketch for drift, the categorical ones among them)``.

    Datetimes (every new day is outside the training range: "always drifted") and free text (a
    count per distinct text is no reference) are left out here: the reference sketches them by
    their derived parts instead (``nb2prod.monitor.derived``: hour/weekday/month, lengths).
    """
    columns = [f["name"] for f in features if f.get("dtype") != "datetime" and not f.get("text")]
    categorical = [f["name"] for f in features if f.get("dtype") in {"category", "string", "bool"} and f["name"] in columns]
    return columns, categorical


def schema_changes(old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> list[str]:
    """Incompatible differences between two feature lists: added/removed columns, dtype or nullability."""
    before = {f["name"]: f for f in old}
    after = {f["name"]: f for f in new}
    changes = [f"removed column {n!r}" for n in before if n not in after]
    changes += [f"added column {n!r}" for n in after if n not in before]
    for name in before.keys() & after.keys():
        a, b = before[name], after[name]
        # int → float and "now accepts missing values" widen what clients may send: compatible
        if a.get("dtype") != b.get("dtype") and (a.get("dtype"), b.get("dtype")) != ("int", "float"):
            changes.append(f"column {name!r} changed type {a.get('dtype')} → {b.get('dtype')}")
        if a.get("nullable") and not b.get("nullable"):
            changes.append(f"column {name!r} no longer accepts missing values")
    if not changes and [f["name"] for f in old] != [f["name"] for f in new]:
        changes.append("column order changed")
    return sorted(changes)
