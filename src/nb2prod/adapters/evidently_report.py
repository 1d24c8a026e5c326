"""Evidently adapter (the only module importing evidently): the deep HTML data-drift report.

Evidently 0.7 API: ``Report([DataDriftPreset()]).run(current, reference)`` on
``Dataset.from_pandas(frame, data_definition=DataDefinition(...))``; the snapshot has
``dict()`` and ``save_html``. ``import evidently`` takes seconds: import only here, lazily.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["data_drift_report"]

_VALUE_DRIFT = re.compile(r"^ValueDrift\(column=(?P<column>.+?),method=(?P<method>.+?),threshold=(?P<threshold>[^)]+)\)$")


def data_drift_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numerical: Sequence[str],
    categorical: Sequence[str],
    html: str | Path | None = None,
) -> dict[str, Any]:
    """Run Evidently's ``DataDriftPreset``; save the HTML report if ``html`` is given.

    Returns ``{"columns": {column: {"method", "value", "threshold"}}, "drifted_count", "drifted_share"}``.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=list(numerical), categorical_columns=list(categorical))
    columns = [*numerical, *categorical]
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )
    if html is not None:
        target = Path(html)
        target.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(target))
    columns_out: dict[str, dict[str, Any]] = {}
    result: dict[str, Any] = {"columns": columns_out, "drifted_count": 0.0, "drifted_share": 0.0}
    for metric in snapshot.dict().get("metrics", []):
        name = str(metric.get("metric_name", ""))
        value = metric.get("value")
        found = _VALUE_DRIFT.match(name)
        if found:
            columns_out[found["column"]] = {"method": found["method"], "value": float(value), "threshold": float(found["threshold"])}
        elif name.startswith("DriftedColumnsCount") and isinstance(value, dict):
            result["drifted_count"] = float(value.get("count", 0.0))
            result["drifted_share"] = float(value.get("share", 0.0))
    return result
