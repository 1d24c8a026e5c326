"""Step 3, gates: against the live version — the input schema, then holdout metrics and the validation gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nb2prod.errors import ConflictError, InvalidInputError, Nb2prodError
from nb2prod.models import RegistryEvent, VersionRecord
from nb2prod.package.deploy.check import Checked
from nb2prod.package.deploy.inputs import DeployInputs
from nb2prod.package.deploy.request import DeployRequest
from nb2prod.package.deploy.validate import Plan
from nb2prod.store import Store

__all__ = ["Gated", "run_gates"]


@dataclass(slots=True)
class Gated:
    live_id: str | None
    changes: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    holdout_frame: Any = None  # the holdout in the training columns' order, or None
    holdout_all: Any = None  # the holdout as given (its fingerprint goes into the version record)
    warnings: list[str] = field(default_factory=list)


def _live_metrics(live_record: VersionRecord, holdout: Any, y_test: Any, task: str, warnings: list[str]) -> dict[str, Any]:
    """The live version's metrics on this same holdout when it can be re-evaluated, else its recorded ones."""
    from nb2prod.package.artifact import load_model
    from nb2prod.package.evaluate import describe_model, holdout_metrics

    recorded = dict(live_record.metrics)
    try:
        live_model = load_model(live_record.deployment_dir or "")
        live_info = describe_model(live_model)
        live_cols = [f["name"] for f in live_record.schema.get("features", [])]
        if all(c in holdout.columns for c in live_cols) and live_info.task == task:
            threshold = live_record.extra.get("threshold") if live_info.score_method == "predict_proba" else None
            measured: dict[str, Any] = dict(holdout_metrics(live_model, holdout[live_cols], y_test, live_info, threshold))
            measured["evaluated_on"] = "this holdout"
            return measured
    except (Nb2prodError, OSError, ValueError, TypeError):
        warnings.append(f"live version {live_record.version_id} could not be re-evaluated on this holdout; compared with its recorded metrics")
    return recorded


def run_gates(store: Store, model: Any, inputs: DeployInputs, request: DeployRequest, plan: Plan, checked: Checked,
              say: Callable[[str], None]) -> Gated:
    from nb2prod.package.evaluate import holdout_metrics
    from nb2prod.package.gate import metric_gate, schema_gate
    from nb2prod.package.schema import as_frame

    name = plan.name
    live_id = store.registry.traffic(name).live
    if request.shadow is not None and not live_id:
        raise ConflictError(f"{name!r} has no live version for a shadow to run beside",
                            fix="deploy without --shadow first; later versions can shadow it")
    live_record = store.registry.get(live_id) if live_id else None
    changes = schema_gate(name, live_id, live_record.schema.get("features") if live_record else None, checked.schema,
                          allow=request.allow_schema_change)
    gated = Gated(live_id=live_id, changes=changes)
    if changes:
        gated.warnings.append(f"input schema changed vs {live_id} (allowed): " + "; ".join(changes))
    if inputs.holdout is None:
        gated.warnings.append("no holdout data: metrics and the validation gate were skipped (pass --holdout X_test y_test)")
        return gated
    columns = list(checked.frame.columns)
    x_test, y_test = inputs.holdout
    holdout = as_frame(x_test, columns=columns, what="holdout data")
    absent = [c for c in columns if c not in holdout.columns]
    if absent:
        raise InvalidInputError(f"holdout data lacks training column(s) {', '.join(absent[:8])}", fix="pass --holdout X_test y_test")
    gated.holdout_all, gated.holdout_frame = holdout, holdout[columns]
    say("measuring holdout metrics")
    gated.metrics = holdout_metrics(model, gated.holdout_frame, y_test, checked.info, request.threshold)
    live_metrics = _live_metrics(live_record, holdout, y_test, checked.info.task, gated.warnings) if live_record else {}
    try:
        gated.checks = metric_gate(
            name, checked.info.task, gated.metrics, thresholds=plan.thresholds, tolerance=request.tolerance, live_version=live_id,
            live_metrics={k: v for k, v in live_metrics.items() if isinstance(v, (int, float))},
        )
    except Nb2prodError as exc:
        store.registry.record_event(
            RegistryEvent(name=name, action="gate_refused", version_id=None, actor=request.actor, reason=exc.message,
                          evidence=getattr(exc, "evidence", {}))
        )
        raise
    return gated
