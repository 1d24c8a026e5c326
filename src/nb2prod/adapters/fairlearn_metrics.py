"""fairlearn adapter (the only module importing fairlearn): per-group rates with MetricFrame."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["group_rates"]


def group_rates(
    favorable: np.ndarray,
    groups: Sequence[Any],
    *,
    y_true: np.ndarray | None = None,
    y_pred: np.ndarray | None = None,
    labelled: np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    """Per group: ``selection_rate`` of the favourable outcome, and — when labels are given —
    ``tpr``, ``fpr`` and ``error_rate`` of the positive class over the rows where ``labelled``
    is true (fairlearn MetricFrame)."""
    from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate

    sensitive = np.asarray([str(g) for g in groups], dtype=object)
    chosen = MetricFrame(
        metrics={"selection_rate": selection_rate},
        y_true=favorable.astype(int),
        y_pred=favorable.astype(int),
        sensitive_features=sensitive,
    ).by_group
    out: dict[str, dict[str, float]] = {str(g): {"selection_rate": float(v)} for g, v in chosen["selection_rate"].items()}
    if y_true is not None and y_pred is not None and labelled is not None and labelled.any():
        by_group = MetricFrame(
            metrics={
                "tpr": true_positive_rate,
                "fpr": false_positive_rate,
                "error_rate": lambda t, p: float(np.mean(np.asarray(t) != np.asarray(p))),
            },
            y_true=y_true[labelled].astype(int),
            y_pred=y_pred[labelled].astype(int),
            sensitive_features=sensitive[labelled],
        ).by_group
        for g, row in by_group.iterrows():
            out.setdefault(str(g), {}).update({k: float(row[k]) for k in ("tpr", "fpr", "error_rate")})
    return out
