"""Business metrics: user functions over audit rows + feedback, tracked like any other metric.

A business metric is ``fn(rows: pandas.DataFrame) -> float``. ``rows`` has one row per
prediction in the window with the request inputs as columns plus ``request_id``,
``version_id``, ``ts``, ``output``, ``score``, ``latency_ms``, ``fallback``, ``violations``,
``error``, ``label``, ``outcome``, ``has_label`` and ``overridden`` (an input column whose name
clashes with one of these is available as ``input_<name>``).
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nb2prod.errors import InvalidInputError, NotFoundError, UsageError
from nb2prod.monitor.frames import AuditFrame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BusinessMetric", "business_rows", "evaluate_business", "load_business_metric"]

BusinessMetric = Callable[["pd.DataFrame"], float]


def business_rows(frame: AuditFrame) -> pd.DataFrame:
    """Inputs and audit/feedback columns of every prediction, side by side."""
    import pandas as pd

    inputs = frame.inputs.rename(columns={c: f"input_{c}" for c in frame.inputs.columns if c in frame.meta.columns})
    return pd.concat([inputs.reset_index(drop=True), frame.meta.reset_index(drop=True)], axis=1)


def evaluate_business(frame: AuditFrame, metrics: Mapping[str, BusinessMetric]) -> dict[str, float | None]:
    """Value of each business metric on ``frame`` (``None`` when the window is empty).

    A function that raises is a one-line :class:`InvalidInputError` naming it.
    """
    if not metrics:
        return {}
    rows = business_rows(frame)
    values: dict[str, float | None] = {}
    for name, fn in metrics.items():
        if len(rows) == 0:
            values[name] = None
            continue
        try:
            value = fn(rows)
        except Exception as exc:
            raise InvalidInputError(
                f"business metric {name!r} failed: {type(exc).__name__}: {exc}",
                fix="make the function accept a DataFrame of audit rows and return a number",
            ) from exc
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"business metric {name!r} returned {type(value).__name__}, not a number", fix="return a float"
            ) from exc
        values[name] = number if math.isfinite(number) else None
    return values


def load_business_metric(spec: str) -> tuple[str, BusinessMetric]:
    """``module:function`` or ``path/to/file.py:function`` → ``(function name, function)``."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise UsageError(f"bad business metric {spec!r}", fix="use module:function or path/to/file.py:function")
    module: Any
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise NotFoundError(f"no file {target}", fix="give the path of the .py file defining the function")
        loader_spec = importlib.util.spec_from_file_location(f"nb2prod_business_{path.stem}", path)
        if loader_spec is None or loader_spec.loader is None:
            raise UsageError(f"cannot load {target}", fix="give a Python source file")
        module = importlib.util.module_from_spec(loader_spec)
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:
            raise InvalidInputError(f"{target} failed to import: {type(exc).__name__}: {exc}", fix="fix the file") from exc
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise NotFoundError(f"cannot import {target!r}: {exc}", fix="check the module is on the Python path") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise NotFoundError(f"{target} has no function {attr!r}", fix="check the function name")
    return attr, fn
