"""Step 2, check: the model is fitted, fits the data, and its task is known; the input schema is inferred."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nb2prod.errors import InvalidInputError, UsageError
from nb2prod.package.deploy.inputs import DeployInputs
from nb2prod.package.deploy.request import DeployRequest
from nb2prod.package.deploy.validate import Plan

__all__ = ["Checked", "check_inputs"]


@dataclass(slots=True)
class Checked:
    """The model's description (task, classes, score method), its training frame and inferred schema."""

    info: Any  # evaluate.ModelInfo
    frame: Any  # pandas.DataFrame, the training columns in the model's order
    schema: list[dict[str, Any]]
    protected: list[str]
    fallback: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def check_inputs(model: Any, inputs: DeployInputs, request: DeployRequest, plan: Plan) -> Checked:
    from nb2prod.package.evaluate import check_features, describe_model, settle_score_method
    from nb2prod.package.schema import as_frame, infer_schema

    info = describe_model(model, inputs.target)
    columns = [str(c) for c in getattr(model, "feature_names_in_", [])] or None
    frame = as_frame(inputs.data, columns=columns, what="training data")
    if inputs.target is not None:
        import numpy as np

        n_target = len(np.asarray(inputs.target).ravel())
        if n_target != len(frame):
            raise InvalidInputError(
                f"target has {n_target} values for {len(frame)} training rows",
                fix="pass the target that matches --data (e.g. --data X_train --target y_train)",
            )
    protected = [str(p) for p in request.protected]
    missing = [p for p in protected if p not in frame.columns]
    if missing:
        raise UsageError(
            f"protected attribute(s) {', '.join(missing)} not in the training data columns",
            fix="name columns of --data (keep the attribute in the frame even if the model drops it)",
        )
    check_features(model, frame)
    settle_score_method(model, frame, info)
    if request.threshold is not None and (info.task != "binary" or info.score_method != "predict_proba"):
        raise UsageError(
            f"--threshold applies to binary classifiers with predict_proba; {type(model).__name__} is {info.task}"
            + ("" if info.task != "binary" else f" scored by {info.score_method or 'nothing'}"),
            fix="drop --threshold: the decision is then the model's own predict()",
        )
    warnings: list[str] = []
    fallback = plan.fallback
    if fallback["strategy"] == "baseline" and inputs.target is None:
        fallback = {**fallback, "strategy": "none"}
        warnings.append("no --target given: no baseline fallback model (fallback: none)")
    from nb2prod.package.guard_policy import guard_features, parse_policies

    # guardrails from the training frame only; policies probed against the model (what it cannot take)
    policies = parse_policies(request.guardrails, [str(c) for c in frame.columns])
    schema = guard_features(model, frame, infer_schema(frame), info.task_spec(request.threshold), policies)
    if not any(f["guard"]["used"] for f in schema):
        warnings.append(f"the model's answers do not depend on any input column (it answers a constant): check that "
                        f"{request.model_var or 'the model'} is the fitted model you meant — a later cell may have rebound it")
    return Checked(info=info, frame=frame, schema=schema, protected=protected, fallback=fallback, warnings=warnings)
