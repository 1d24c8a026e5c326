"""The retraining loop: contract → feedback → train + validation gate → shadow → shadow gate → promotion.

``retrain`` re-runs the live version's training notebook with papermill, with its recorded
parameters overlaid by the policy's and the caller's, fresh data (``data_path``) checked against
the live data contract before any kernel starts, and the feedback labels the service collected
(``feedback_path``, a CSV of the audited inputs with the label as the target column). The fitted
model is deployed as a SHADOW of the live version (the validation gate runs inside deploy), then
the shadow gate decides: promotion is automatic when the policy says so and the gate passes,
otherwise the candidate waits for approval. Every step is a ``retrain`` registry event; a failed
or refused step stops the loop and leaves the live version as it was.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nb2prod.errors import ConflictError, ExecutionError, GateRefusedError, Nb2prodError, UsageError
from nb2prod.models import GateDecision, RegistryEvent, RetrainResult, RetrainStep, VersionRecord
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["feedback_frame", "retrain"]

# parameters that belong to one run and must not leak from the recorded run into the next
_PER_RUN = {"output_dir", "data_path", "feedback_path"}


def feedback_frame(store: Store, record: VersionRecord) -> Any:
    """The labelled requests of ``record``'s deployment: audited inputs (schema columns) plus the label as the target."""
    import pandas as pd

    target = record.extra.get("target") or "target"
    columns = [f["name"] for f in record.schema.get("features") or []]
    labels = {f.request_id: f.label for f in store.audit.feedback(name=record.name) if f.label is not None}
    rows = []
    if labels:
        for event in store.audit.predictions(record.name):
            if event.request_id in labels and event.error is None:
                rows.append({**{c: event.inputs.get(c) for c in columns}, target: labels[event.request_id]})
    frame = pd.DataFrame(rows, columns=[*columns, target])
    classes = record.extra.get("classes") or []
    if len(frame) and classes and all(isinstance(c, int) and not isinstance(c, bool) for c in classes):
        numeric = pd.to_numeric(frame[target], errors="coerce")
        frame = frame[numeric.notna()].assign(**{target: numeric.dropna().astype(int)})
    return frame


class _Journal:
    def __init__(self, store: Store, name: str, retrain_id: str, actor: str) -> None:
        self.store, self.name, self.retrain_id, self.actor = store, name, retrain_id, actor
        self.steps: list[RetrainStep] = []

    def add(self, step: RetrainStep, version_id: str | None = None) -> RetrainStep:
        self.steps.append(step)
        self.store.registry.record_event(RegistryEvent(
            name=self.name, action="retrain", version_id=version_id, actor=self.actor,
            reason=f"retrain {self.retrain_id}: {step.step} {step.status}" + (f" — {step.detail}" if step.detail else ""),
            evidence={"retrain_id": self.retrain_id, **step.to_dict()},
        ))
        return step


def retrain(
    settings: Settings,
    store: Store,
    name: str,
    *,
    promote: Callable[..., Any],
    data: Any = None,
    parameters: Mapping[str, Any] | None = None,
    use_feedback: bool = True,
    auto_promote: bool | None = None,
    approve: bool = False,
    before_gate: Callable[[str], None] | None = None,
    actor: str = "nb2prod-retrain",
    timeout_s: float | None = None,
    progress: bool = False,
    check: bool = True,
    contract_options: Mapping[str, Any] | None = None,
    deploy_options: Mapping[str, Any] | None = None,
    notebook: str | Path | None = None,
) -> RetrainResult:
    """Run the retraining loop for deployment ``name``; see the module docstring.

    ``promote(ref, approve=..., actor=..., reason=...)`` is the core's promotion (it re-runs the
    shadow gate). ``before_gate(candidate_version_id)`` runs between the shadow deploy and the
    shadow gate (e.g. to let traffic flow). With ``check=True`` a refused or failed loop raises
    :class:`GateRefusedError` / :class:`ExecutionError` carrying the result as evidence; with
    ``check=False`` the result is returned with ``outcome`` ``refused`` / ``failed``.
    ``deploy_options`` go to deploy (e.g. ``tolerance`` or ``min_metric`` of the validation gate).
    ``notebook`` replaces the policy's (and the live version's) training notebook for this run: a
    cluster job reads it where its ConfigMap is mounted, not at the path recorded on the laptop.
    """
    from nb2prod.adapters.papermill_run import declared_parameters
    from nb2prod.package.names import validate_name
    from nb2prod.runs.contract import enforce_contract, load_table
    from nb2prod.runs.schedule import get_policy

    started = time.time()
    validate_name(name)
    live = store.registry.traffic(name).live
    if live is None:
        if not store.registry.versions(name):
            from nb2prod.errors import NotFoundError

            raise NotFoundError(f"no deployment named {name!r}", fix="deploy one with %deploy or `nb2prod deploy`")
        raise ConflictError(f"{name!r} has no live version to retrain", fix=f"promote a version of {name} first")
    record = store.registry.get(live)
    policy = get_policy(store, name)
    notebook_text = (
        (str(notebook) if notebook else None) or (policy.notebook if policy and policy.notebook else None) or record.extra.get("notebook")
    )
    if not notebook_text:
        raise UsageError(f"{live} records no training notebook", fix=f"set one: `nb2prod policy {name} --notebook PATH`")
    notebook = Path(notebook_text)
    if not notebook.is_file():
        raise UsageError(f"training notebook {notebook} is gone", fix=f"point the policy at it: `nb2prod policy {name} --notebook PATH`")
    declared = declared_parameters(notebook)
    if data is not None and "data_path" not in declared:
        raise UsageError(f"{notebook.name} has no `data_path` parameter to receive new data",
                         fix="add `data_path = \"\"` to its parameters cell and read the data from it when set")
    unknown = sorted(set(parameters or {}) - set(declared))
    if unknown:
        raise UsageError(f"{notebook.name} declares no parameter(s) {', '.join(unknown)}",
                         fix=f"its parameters are: {', '.join(sorted(declared)) or 'none'}")
    frame = load_table(data, what="new data") if data is not None else None

    retrain_id = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
    folder = settings.runs_dir / "retrain" / f"{name}-{retrain_id}"
    folder.mkdir(parents=True, exist_ok=True)
    journal = _Journal(store, name, retrain_id, actor)
    params: dict[str, Any] = {k: v for k, v in record.params.items() if k in declared and k not in _PER_RUN}
    params.update((policy.parameters if policy else {}) or {})
    params.update(parameters or {})
    candidate: str | None = None
    run_id: str | None = None

    def finish(outcome: str) -> RetrainResult:
        live_after = store.registry.traffic(name).live
        journal.add(RetrainStep("result", outcome, f"live {live_after}" + (f", candidate {candidate}" if candidate else "")),
                    candidate)
        result = RetrainResult(
            retrain_id=retrain_id, name=name, live_before=live, live_after=live_after, candidate=candidate, outcome=outcome,
            steps=tuple(journal.steps), parameters=params, run_id=run_id, duration_s=round(time.time() - started, 2),
        )
        if check and outcome in {"refused", "failed"}:
            last = next((s for s in reversed(result.steps[:-1]) if s.status in {"refused", "failed"}), None)
            message = f"retrain of {name} {outcome} at the {last.step if last else '?'} step: {last.detail if last else ''} ({live} stays live)"
            cls = GateRefusedError if outcome == "refused" else ExecutionError
            if cls is GateRefusedError:
                raise GateRefusedError(message, fix=f"see the evidence, and `nb2prod versions {name}`", evidence=result.to_dict())
            raise ExecutionError(message, fix="see the run's output notebook (`nb2prod runs`)")
        return result

    # 1. the data contract, before any kernel starts
    if frame is not None:
        t0 = time.time()
        try:
            report = enforce_contract(record, frame, **dict(contract_options or {}))
        except GateRefusedError as exc:
            journal.add(RetrainStep("contract", "refused", exc.message, exc.evidence, round(time.time() - t0, 3)))
            return finish("refused")
        path = folder / "data.csv"
        frame.to_csv(path, index=False)
        params["data_path"] = str(path)
        journal.add(RetrainStep("contract", "ok", report.summary(), {"rows": report.rows, "data_path": str(path)},
                                round(time.time() - t0, 3)))
    else:
        journal.add(RetrainStep("contract", "skipped", "no new data given: the notebook's own data parameters are used"))

    # 2. feedback labels collected by the service
    if use_feedback and "feedback_path" in declared:
        labelled = feedback_frame(store, record)
        if len(labelled):
            path = folder / "feedback.csv"
            labelled.to_csv(path, index=False)
            params["feedback_path"] = str(path)
            journal.add(RetrainStep("feedback", "ok", f"{len(labelled)} labelled requests passed as feedback_path",
                                    {"rows": len(labelled), "feedback_path": str(path)}))
        else:
            journal.add(RetrainStep("feedback", "skipped", "no feedback labels collected yet"))
    else:
        why = "disabled" if not use_feedback else f"{notebook.name} has no feedback_path parameter"
        journal.add(RetrainStep("feedback", "skipped", why))

    # 3. train with papermill and deploy as a shadow (the validation gate runs inside deploy)
    from nb2prod.package.deploy import DeployRequest
    from nb2prod.runs.notebook_deploy import deploy_notebook

    variables = dict(record.extra.get("variables") or {})
    holdout = (variables["holdout_data"], variables["holdout_target"]) if {"holdout_data", "holdout_target"} <= set(variables) else None
    options: dict[str, Any] = {"threshold": record.extra.get("threshold")}
    if record.extra.get("protected"):
        options["protected"] = list(record.extra["protected"])
    if record.extra.get("favorable") is not None:
        options["favorable"] = record.extra["favorable"]
    options.update(deploy_options or {})
    options["shadow"] = 100.0  # a retrained model always starts in shadow
    t0 = time.time()
    try:
        request = DeployRequest.from_options({
            "name": name, "model_var": variables.get("model", "model"), "data_var": variables.get("data", "X_train"),
            "target_var": variables.get("target", "y_train"), "holdout_vars": holdout, "parameters": params,
            "timeout_s": timeout_s, "actor": actor, **options,
        })
        deployed = deploy_notebook(settings, store, notebook, request, show_cells=progress)
    except GateRefusedError as exc:
        run_id = _latest_run(store, notebook, t0)
        journal.add(RetrainStep("train", "refused", exc.message, exc.evidence, round(time.time() - t0, 2)))
        return finish("refused")
    except Nb2prodError as exc:
        run_id = _latest_run(store, notebook, t0)
        journal.add(RetrainStep("train", "failed", exc.message, {"error": exc.to_dict()}, round(time.time() - t0, 2)))
        return finish("failed")
    run_id = _latest_run(store, notebook, t0)
    candidate = deployed.version_id
    journal.add(RetrainStep("train", "ok", f"{candidate} deployed in shadow of {live}",
                            {"metrics": deployed.metrics, "gate": deployed.gate, "run_id": run_id}, round(time.time() - t0, 2)),
                candidate)

    # 4. the shadow period, then the shadow gate and promotion
    if before_gate is not None:
        before_gate(candidate)
    from nb2prod.rollout.actions import run_gate

    t0 = time.time()
    decision = run_gate(store, name, candidate=candidate, actor=actor)
    journal.add(_shadow_gate_step(decision, round(time.time() - t0, 3)), candidate)
    automatic = auto_promote if auto_promote is not None else bool(policy and policy.auto_promote)
    if decision.verdict == "blocked":
        journal.add(RetrainStep("promote", "skipped", f"{candidate} stays in shadow: " + (
            f"re-run the gate with `nb2prod gate {name}` once it has seen enough requests" if _awaits_evidence(decision)
            else "the shadow gate blocked it")), candidate)
        return finish("shadowing")
    if (decision.verdict == "pass" and (automatic or approve)) or (decision.verdict == "needs_approval" and approve):
        try:
            promote(f"{name}:{candidate}", approve=approve, actor=actor,
                    reason=f"retrain {retrain_id}: " + ("approved" if approve else "automatic promotion after the shadow gate passed"))
        except GateRefusedError as exc:
            journal.add(RetrainStep("promote", "refused", exc.message, exc.evidence), candidate)
            return finish("shadowing")
        journal.add(RetrainStep("promote", "ok", f"{candidate} is live; {live} retired"), candidate)
        return finish("promoted")
    journal.add(RetrainStep("promote", "waiting", f"approve with `nb2prod promote {name}:{candidate} --approve`"), candidate)
    return finish("awaiting_approval")


def _awaits_evidence(decision: GateDecision) -> bool:
    # too few compared requests is no verdict on the candidate, only a lack of evidence so far
    compared = decision.evidence.get("compared")
    return decision.verdict == "blocked" and isinstance(compared, int) and compared < decision.policy.min_requests


def _shadow_gate_step(decision: GateDecision, duration_s: float) -> RetrainStep:
    """The ``shadow_gate`` step: ``waiting`` (for evidence, or for approval), ``ok``, or ``refused`` (a real block)."""
    evidence = {"verdict": decision.verdict, "reasons": decision.reasons}
    if _awaits_evidence(decision):
        detail = (f"waiting for evidence (n={decision.evidence['compared']} of {decision.policy.min_requests} needed): "
                  + "; ".join(decision.reasons))
        return RetrainStep("shadow_gate", "waiting", detail, evidence, duration_s)
    status = {"pass": "ok", "needs_approval": "waiting"}.get(decision.verdict, "refused")
    return RetrainStep("shadow_gate", status, f"{decision.verdict}: " + "; ".join(decision.reasons), evidence, duration_s)


def _latest_run(store: Store, notebook: Path, since: float) -> str | None:
    for run in store.runs.list(limit=20):
        if run.started_at >= since - 1 and Path(run.notebook).name == notebook.name:
            return run.run_id
    return None
