"""Validation gate before packaging: holdout metrics vs thresholds and vs the live version; schema compatibility."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nb2prod.errors import GateRefusedError, UsageError
from nb2prod.package.evaluate import HIGHER_IS_BETTER, higher_is_better
from nb2prod.package.schema import schema_changes

__all__ = ["DEFAULT_TOLERANCE", "PRIMARY_METRIC", "metric_gate", "parse_thresholds", "schema_gate"]

PRIMARY_METRIC = {"binary": "roc_auc", "multiclass": "accuracy", "regression": "rmse"}
DEFAULT_TOLERANCE = 0.01
_BOUNDED = {"roc_auc", "accuracy", "f1", "f1_macro", "balanced_accuracy", "recall_min", "r2"}  # tolerance is absolute on these


def parse_thresholds(items: Sequence[str] | Mapping[str, float] | None) -> dict[str, float]:
    """``["roc_auc=0.7", "accuracy=0.8"]`` (or a mapping) → ``{"roc_auc": 0.7, …}``, names checked."""
    if not items:
        return {}
    pairs: list[tuple[str, Any]]
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        pairs = []
        for item in items:
            name, sep, raw = str(item).partition("=")
            if not sep:
                raise UsageError(f"metric threshold {item!r} is not NAME=VALUE", fix="e.g. --min-metric roc_auc=0.7")
            pairs.append((name.strip(), raw.strip()))
    out: dict[str, float] = {}
    for name, raw in pairs:
        if higher_is_better(name) is None:
            raise UsageError(f"unknown metric {name!r}", fix="use one of " + ", ".join(sorted(HIGHER_IS_BETTER)) + ", recall.<class>")
        try:
            out[name] = float(raw)
        except (TypeError, ValueError):
            raise UsageError(f"threshold for {name} is not a number: {raw!r}", fix=f"e.g. --min-metric {name}=0.7") from None
    return out


def _worse_by(metric: str, value: float, reference: float) -> float:
    """How much worse ``value`` is than ``reference`` (positive = worse), relative for unbounded metrics."""
    worse = (reference - value) if higher_is_better(metric) else (value - reference)
    if metric not in _BOUNDED and not metric.startswith("recall.") and reference:
        return worse / abs(reference)
    return worse


def metric_gate(
    name: str,
    task: str,
    metrics: Mapping[str, float],
    *,
    thresholds: Mapping[str, float],
    tolerance: float = DEFAULT_TOLERANCE,
    live_version: str | None = None,
    live_metrics: Mapping[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Check metrics; return the checks, or raise :class:`GateRefusedError` with them as evidence.

    Thresholds are direction-aware: ``roc_auc=0.7`` means at least 0.7, ``rmse=3`` at most 3.
    Against the live version (evaluated on the same holdout when possible) the primary metric
    must not be worse by more than ``tolerance`` (absolute for metrics in [0, 1], relative otherwise).
    """
    if tolerance < 0:
        raise UsageError(f"tolerance must be >= 0, got {tolerance}", fix="e.g. --tolerance 0.01")
    checks: list[dict[str, Any]] = []
    for metric, limit in thresholds.items():
        if metric not in metrics:
            raise UsageError(
                f"metric {metric!r} is not computed for a {task} model",
                fix="use one of " + (", ".join(sorted(metrics)) or "the holdout metrics (pass --holdout X_test y_test)"),
            )
        value = metrics[metric]
        ok = value >= limit if higher_is_better(metric) else value <= limit
        checks.append({"check": "threshold", "metric": metric, "value": value, "limit": limit, "passed": bool(ok)})
    primary = PRIMARY_METRIC.get(task)
    if live_version and live_metrics and primary and primary in metrics and primary in live_metrics:
        value, reference = float(metrics[primary]), float(live_metrics[primary])
        ok = _worse_by(primary, value, reference) <= tolerance + 1e-12
        checks.append(
            {
                "check": "vs_live",
                "metric": primary,
                "value": value,
                "live": reference,
                "live_version": live_version,
                "tolerance": tolerance,
                "passed": bool(ok),
            }
        )
    failed = [c for c in checks if not c["passed"]]
    if failed:
        first = failed[0]
        if first["check"] == "threshold":
            relation = "<" if higher_is_better(first["metric"]) else ">"
            why = f"{first['metric']} {first['value']:.4f} {relation} required {first['limit']}"
            fix = "improve the model, or set a different --min-metric if the threshold is wrong"
        else:
            why = f"{first['metric']} {first['value']:.4f} is worse than live {first['live_version']} ({first['live']:.4f}) by more than {tolerance}"
            fix = "improve the model, or raise --tolerance if the drop is acceptable"
        more = f" (+{len(failed) - 1} more failed check(s))" if len(failed) > 1 else ""
        raise GateRefusedError(f"validation gate refused {name}: {why}{more}", fix=fix, evidence={"checks": checks, "metrics": dict(metrics)})
    return checks


def schema_gate(
    name: str, live_version: str | None, live_schema: Sequence[dict[str, Any]] | None, schema: Sequence[dict[str, Any]], *, allow: bool
) -> list[str]:
    """Refuse an input schema that differs from the live version's unless ``allow``; return the changes."""
    if not live_version or not live_schema:
        return []
    changes = schema_changes(live_schema, schema)
    if changes and not allow:
        shown = "; ".join(changes[:4]) + (f"; +{len(changes) - 4} more" if len(changes) > 4 else "")
        raise GateRefusedError(
            f"input schema of {name} differs from live {live_version}: {shown}",
            fix="keep the live features, or pass --allow-schema-change (clients must change too)",
            evidence={"changes": changes, "live_version": live_version},
        )
    return changes
