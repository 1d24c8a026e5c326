"""A numpy path for a fitted scikit-learn Pipeline's ColumnTransformer, used only when it is proven equal.

Profiling the served example showed most of the model thread's time in ``ColumnTransformer.transform``
(pandas column indexing per transformer, validation, ``OneHotEncoder``'s generic encoding), not in the
model. For a ColumnTransformer made only of ``passthrough``, ``drop``, ``StandardScaler`` and dense
``OneHotEncoder`` parts, the same matrix is a few numpy operations on the frame's columns. Steps before
it (a notebook's own transformer, say) still run as fitted; the final estimator gets the matrix.

:func:`compile_transform` builds that function or says why it cannot; :func:`select_path` keeps it only
when, on every sample row, it gives exactly the matrix ``Pipeline.transform`` gives (and so the same
decisions and scores) — otherwise the plain pipeline serves. Nothing is assumed from the types alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

__all__ = ["PredictPath", "Transform", "compile_transform", "select_path"]

Transform = Callable[["pd.DataFrame"], "np.ndarray"]


@dataclass(frozen=True)
class PredictPath:
    """Which path computes the final estimator's input: ``"numpy"`` (compiled) or ``"sklearn"`` (the pipeline)."""

    name: str
    reason: str
    transform: Transform | None = None

    def to_dict(self) -> dict[str, str]:
        return {"predict_path": self.name, "reason": self.reason}


def _column_names(selection: Any, names: Sequence[str]) -> list[str] | None:
    """A fitted ColumnTransformer part's columns as names (None: a selection we do not translate)."""
    import numpy as np

    if isinstance(selection, str):
        return [selection]
    if callable(selection) or isinstance(selection, slice):
        return None
    items = list(np.asarray(selection).tolist()) if not isinstance(selection, list) else selection
    if all(isinstance(c, str) for c in items):
        return list(items)
    if all(isinstance(c, bool) for c in items):
        return [n for n, keep in zip(names, items, strict=True) if keep] if len(items) == len(names) else None
    if all(isinstance(c, int) for c in items):
        return [names[i] for i in items]
    return None


def _onehot(encoder: Any, column: str) -> tuple[Callable[[pd.DataFrame], np.ndarray] | None, str]:
    import numpy as np

    if getattr(encoder, "drop_idx_", None) is not None:
        return None, "OneHotEncoder with drop"
    if getattr(encoder, "_infrequent_enabled", False):
        return None, "OneHotEncoder with infrequent categories"
    if encoder.handle_unknown not in ("ignore", "error"):
        return None, f"OneHotEncoder handle_unknown={encoder.handle_unknown!r}"
    if len(encoder.categories_) != 1:
        return None, "OneHotEncoder over several columns at once"
    categories = encoder.categories_[0]
    if any(c is None or (isinstance(c, float) and c != c) for c in categories.tolist()):
        return None, "OneHotEncoder with a missing-value category"
    strict = encoder.handle_unknown == "error"

    def encode(frame: pd.DataFrame) -> np.ndarray:
        values = np.asarray(frame[column].to_numpy(dtype=object) if frame[column].dtype == "category" else frame[column])
        hot = (values[:, None] == categories[None, :]).astype(np.float64)
        if strict and len(values) and not hot.any(axis=1).all():
            raise ValueError(f"Found unknown categories in column {column!r} during transform")
        return hot

    return encode, ""


def _floats(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """``frame[columns]`` as a new float64 matrix, column by column (no DataFrame take: about a quarter of the time)."""
    import numpy as np

    return np.column_stack([frame[c].to_numpy(dtype=np.float64) for c in columns])


def _part(transformer: Any, columns: list[str]) -> tuple[Callable[[pd.DataFrame], np.ndarray] | None, str]:
    """One ColumnTransformer part as a function of the frame, or the reason it has no numpy path."""
    import numpy as np
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    identity = type(transformer) is FunctionTransformer and transformer.func is None  # how a fitted "passthrough" part reads
    if identity or (isinstance(transformer, str) and transformer == "passthrough"):
        return (lambda frame: _floats(frame, columns)), ""
    if type(transformer) is StandardScaler:
        mean = getattr(transformer, "mean_", None) if transformer.with_mean else None
        scale = getattr(transformer, "scale_", None) if transformer.with_std else None

        def scaled(frame: pd.DataFrame) -> np.ndarray:
            x = _floats(frame, columns)  # a fresh array: changed in place as StandardScaler does
            if mean is not None:
                x -= mean
            if scale is not None:
                x /= scale
            return x

        return scaled, ""
    if type(transformer) is OneHotEncoder:
        parts = [_onehot(_single(transformer, k), c) for k, c in enumerate(columns)]
        failed = [why for fn, why in parts if fn is None]
        if failed:
            return None, failed[0]
        encoders = [fn for fn, _ in parts if fn is not None]
        return (lambda frame: np.hstack([e(frame) for e in encoders])), ""
    return None, f"{type(transformer).__name__} has no numpy path"


class _OneColumn:
    """The per-column view of a fitted OneHotEncoder that :func:`_onehot` reads."""

    def __init__(self, encoder: Any, k: int) -> None:
        self.drop_idx_ = None if encoder.drop_idx_ is None else encoder.drop_idx_[k]
        self._infrequent_enabled = getattr(encoder, "_infrequent_enabled", False)
        self.handle_unknown = encoder.handle_unknown
        self.categories_ = [encoder.categories_[k]]


def _single(encoder: Any, k: int) -> _OneColumn:
    return _OneColumn(encoder, k)


def compile_transform(prefix: Any) -> tuple[Transform | None, str]:
    """The numpy equivalent of ``prefix.transform`` (a fitted Pipeline ending in a ColumnTransformer), or why not."""
    import numpy as np

    try:
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline
    except ImportError:
        return None, "scikit-learn is not installed"
    steps = getattr(prefix, "steps", None)
    if not isinstance(prefix, Pipeline) or not steps:
        return None, "the model is not a scikit-learn Pipeline"
    ct = steps[-1][1]
    if not isinstance(ct, ColumnTransformer):
        return None, f"the step before the estimator is {type(ct).__name__}, not a ColumnTransformer"
    if getattr(ct, "sparse_output_", False):
        return None, "the ColumnTransformer's output is sparse"
    if (getattr(ct, "_sklearn_output_config", None) or {}).get("transform", "default") != "default":
        return None, "the ColumnTransformer outputs a DataFrame (set_output)"
    names = [str(n) for n in getattr(ct, "feature_names_in_", ())]
    if not names:
        return None, "the ColumnTransformer was not fitted on a DataFrame"
    parts: list[Callable[[pd.DataFrame], np.ndarray]] = []
    for _, transformer, selection in ct.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        columns = _column_names(selection, names)
        if columns is None:
            return None, "a ColumnTransformer part selects columns by a callable or slice"
        if not columns:
            continue
        fn, why = _part(transformer, columns)
        if fn is None:
            return None, why
        parts.append(fn)
    if not parts:
        return None, "the ColumnTransformer outputs no columns"
    # the steps before run as Pipeline.transform runs them (a sub-Pipeline of a stateless notebook
    # transformer reads as unfitted to scikit-learn's check, so call the steps themselves)
    head = [step for _, step in steps[:-1] if step is not None and not (isinstance(step, str) and step == "passthrough")]

    def transform(frame: pd.DataFrame) -> np.ndarray:
        data = frame
        for step in head:
            data = step.transform(data)
        return np.hstack([part(data) for part in parts])

    return transform, ""


def select_path(prefix: Any, final: Any, frame: pd.DataFrame) -> PredictPath:
    """The compiled path when it gives ``prefix.transform``'s exact matrix on every row of ``frame``; else the pipeline."""
    import numpy as np

    if len(frame) == 0:
        return PredictPath("sklearn", "no sample rows to prove a compiled path on")
    if getattr(final, "feature_names_in_", None) is not None:
        return PredictPath("sklearn", "the final estimator was fitted on named columns")
    transform, why = compile_transform(prefix)
    if transform is None:
        return PredictPath("sklearn", why)
    try:
        expected = prefix.transform(frame)
        got = transform(frame)
    except Exception as exc:
        return PredictPath("sklearn", f"the compiled path failed on the sample rows: {type(exc).__name__}: {exc}"[:300])
    if hasattr(expected, "toarray"):
        expected = expected.toarray()
    expected = np.asarray(expected, dtype=np.float64) if np.asarray(expected).dtype != object else np.asarray(expected)
    if expected.shape != got.shape or expected.dtype == object or not np.array_equal(expected, got, equal_nan=True):
        return PredictPath("sklearn", f"the compiled path's matrix differs from Pipeline.transform on the {len(frame)} sample rows")
    return PredictPath("numpy", f"identical to Pipeline.transform on all {len(frame)} sample rows", transform)
