"""Reference sketches of the training frame, saved at deploy time as ``reference.json``.

Monitoring never needs the training data again: drift statistics are computed from these
sketches against a window of live inputs.

Numeric column: the exact empirical CDF of the reference at up to ``grid_size`` points —
every distinct value when there are at most that many (then KS and Wasserstein are exact),
else the quantiles at ``grid_size`` evenly spaced levels, with the exact CDF at each — plus
mean, std (population, as Evidently), min/max and the missing share.
Categorical column: the count of every category. A bounded uniform sample of whole rows is kept
for the deep Evidently HTML report.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nb2prod.errors import InvalidInputError, NotFoundError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["REFERENCE_FORMAT", "build_reference", "is_categorical", "load_reference", "save_reference"]

REFERENCE_FORMAT = "nb2prod.reference/1"


def is_categorical(series: pd.Series, max_unique_numeric: int = 0) -> bool:
    """Object, string, category and bool columns are categorical; numbers are numeric."""
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(series):
        return True
    if pd.api.types.is_numeric_dtype(series):
        return max_unique_numeric > 0 and series.nunique(dropna=True) <= max_unique_numeric
    return True


def _numeric_sketch(values: np.ndarray, grid_size: int) -> dict[str, Any]:
    n_total = int(values.size)
    finite = values[~np.isnan(values)]
    n = int(finite.size)
    sketch: dict[str, Any] = {"kind": "numeric", "n": n, "missing": (n_total - n) / n_total if n_total else 0.0}
    if n == 0:
        sketch.update(exact=True, grid=[], cdf=[], mean=None, std=None, min=None, max=None)
        return sketch
    ordered = np.sort(finite)
    unique = np.unique(ordered)
    exact = unique.size <= grid_size
    if exact:
        grid = unique
    else:
        levels = np.linspace(0.0, 1.0, grid_size)
        # inverted-CDF quantiles read straight off the sorted values (np.quantile would re-sort)
        index = np.clip(np.ceil(levels * n).astype(np.int64) - 1, 0, n - 1)
        grid = np.unique(ordered[index])
    cdf = np.searchsorted(ordered, grid, side="right") / n
    sketch.update(
        exact=bool(exact),
        grid=[float(x) for x in grid],
        cdf=[float(x) for x in cdf],
        mean=float(ordered.mean()),
        std=float(ordered.std()),
        min=float(ordered[0]),
        max=float(ordered[-1]),
    )
    return sketch


def category_key(value: Any) -> str:
    """Text key of a category: ``1``, ``1.0``, ``True`` and ``"1"`` are the same category."""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


def _categorical_sketch(series: pd.Series) -> dict[str, Any]:
    n_total = int(series.size)
    merged: dict[str, int] = {}
    for key, value in series.value_counts(dropna=True, sort=False).items():
        label = category_key(key)
        merged[label] = merged.get(label, 0) + int(value)
    n = sum(merged.values())
    return {
        "kind": "categorical",
        "n": n,
        "missing": (n_total - n) / n_total if n_total else 0.0,
        "counts": dict(sorted(merged.items())),
    }


def _jsonable_cell(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def build_reference(
    frame: pd.DataFrame,
    categorical: Iterable[str] | None = None,
    *,
    features: Sequence[str] | None = None,
    exclude: Iterable[str] = (),
    grid_size: int = 2048,
    sample_size: int = 2000,
    seed: int = 0,
    datetimes: Sequence[str] = (),
    texts: Sequence[str] = (),
) -> dict[str, Any]:
    """JSON-ready reference sketches of ``frame`` (the training inputs; drop the target first).

    ``categorical`` names the categorical columns; by default, non-numeric and boolean columns.
    ``features`` restricts the columns (default: all but ``exclude``). ``datetimes`` and ``texts``
    are sketched by their derived parts (``nb2prod.monitor.derived``), never raw; each text's
    training vocabulary is kept under ``"vocabularies"``.
    """
    import pandas as pd

    vocabularies: dict[str, list[str]] = {}
    if datetimes or texts:
        from nb2prod.monitor.derived import derived_frame, vocabulary_of

        # kept in the reference (and the version record): the live ``.oov`` of a text is measured against it
        vocabularies = {str(name): vocabulary_of(frame[name].tolist()) for name in texts}
        derived, derived_categorical = derived_frame(frame, datetimes, texts, oov=True)
        frame = frame[[c for c in frame.columns if c not in {*datetimes, *texts}]].join(derived)
        if categorical is not None:
            categorical = [*categorical, *derived_categorical]
        if features is not None:
            features = [*(f for f in features if f not in {*datetimes, *texts}), *derived.columns]

    if not isinstance(frame, pd.DataFrame):
        raise InvalidInputError(
            f"reference data must be a pandas DataFrame, got {type(frame).__name__}",
            fix="pass the training inputs as a DataFrame",
        )
    if len(frame) == 0:
        raise InvalidInputError("reference data has no rows", fix="pass the training frame used to fit the model")
    if grid_size < 16:
        raise InvalidInputError(f"grid_size must be at least 16, got {grid_size}", fix="use the default 2048")
    skip = set(exclude)
    columns = [c for c in (features if features is not None else list(frame.columns)) if c not in skip]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"reference data lacks column(s) {', '.join(map(str, missing))}", fix="pass the training frame")
    declared = set(categorical) if categorical is not None else None
    sketches: dict[str, Any] = {}
    for column in columns:
        series = frame[column]
        as_category = column in declared if declared is not None else is_categorical(series)
        if as_category:
            sketches[str(column)] = _categorical_sketch(series)
        else:
            try:
                values = pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"column {column!r} is not numeric and not declared categorical",
                    fix=f"add {column!r} to categorical=[...]",
                ) from exc
            sketches[str(column)] = _numeric_sketch(values, grid_size)
    sample_rows = frame[columns].sample(n=min(sample_size, len(frame)), random_state=seed) if sample_size > 0 else frame[[]]
    sample = [{str(k): _jsonable_cell(v) for k, v in row.items()} for row in sample_rows.to_dict(orient="records")]
    reference = {
        "format": REFERENCE_FORMAT,
        "n_rows": len(frame),
        "features": sketches,
        "sample": sample,
    }
    if vocabularies:  # absent from older references: those have no ``.oov`` column, live or here
        reference["vocabularies"] = vocabularies
    return reference


def save_reference(reference: dict[str, Any], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(reference, separators=(",", ":")), encoding="utf-8")
    return target


def load_reference(path: str | Path) -> dict[str, Any]:
    """Read a ``reference.json``; a missing or foreign file is a one-line error."""
    source = Path(path)
    if not source.is_file():
        raise NotFoundError(
            f"no reference sketches at {source}",
            fix="redeploy with %deploy (it saves reference.json), or build one with nb2prod.monitor.build_reference",
        )
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read {source}: {exc}", fix="redeploy to rewrite reference.json") from exc
    if not isinstance(data, dict) or data.get("format") != REFERENCE_FORMAT or not isinstance(data.get("features"), dict):
        raise InvalidInputError(f"{source} is not an nb2prod reference file", fix="redeploy to rewrite reference.json")
    return data
