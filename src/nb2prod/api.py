"""The core API: one typed entry point that every front (magics, CLI, REST, widgets) calls.

>>> ws = Workspace.open()          # ~/.nb2prod, or NB2PROD_HOME
>>> run = ws.run_notebook("example_notebooks/credit_default.ipynb", {"n_samples": 5000})
"""

from __future__ import annotations

import logging
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nb2prod.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from nb2prod.lint.fixes import FixResult  # lint
    from nb2prod.models import (  # rollout
        AlertCheck,
        AlertEvent,
        AlertRule,
        CanaryVerdict,
        ConceptDriftResult,
        ContractReport,
        DataFile,
        DeploymentStatus,
        DeployResult,
        DriftResult,
        FairnessResult,
        GateDecision,
        LintReport,
        MonitorReport,
        OperationsResult,
        RebuildResult,
        RetrainPolicy,
        RetrainResult,
        RolloutPolicy,
        RunRecord,
        ScheduleItem,
        ServeInfo,
        ShadowComparison,
        Traffic,
        VersionRecord,
        VersionState,
    )
    from nb2prod.package.deploy import DeployInputs, DeployRequest
    from nb2prod.package.k8s import ClusterManifests
    from nb2prod.package.topology import Topology
    from nb2prod.store import Store
    from nb2prod.store.schema import SchemaStatus

__all__ = ["Workspace"]


class Workspace:
    """A workspace: settings plus the store they point at. Cheap to build; opens the store on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def open(cls, home: str | Path | None = None, *, env: dict[str, str] | None = None) -> Workspace:
        """Settings from the environment (``NB2PROD_HOME``, ``NB2PROD_STORE_URL``), ``home`` winning."""
        return cls(Settings.from_env(env, home=home))

    @cached_property
    def store(self) -> Store:
        from nb2prod.store import Store

        store = Store.open(self.settings.resolved_store_url)
        os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
        return store

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()
            del self.__dict__["store"]

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- info -------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """What this workspace holds: where, and how many deployments, predictions and runs."""
        from nb2prod import __version__

        return {
            "version": __version__,
            "home": str(self.settings.home),
            "store": self.store.url,
            "bentoml_home": str(self.settings.resolved_bentoml_home),
            "deployments": self.store.registry.names(),
            "predictions": self.store.audit.count(),
            "runs": len(self.store.runs.list(limit=10_000)),
        }

    # -- store schema ---------------------------------------------------------------------------
    def store_schema(self) -> SchemaStatus:
        """The store's schema revision against this release's head, read without changing the store."""
        from nb2prod.store.schema import store_schema

        return store_schema(self.settings.resolved_store_url)

    def upgrade_store(self) -> tuple[SchemaStatus, SchemaStatus]:
        """Migrate the store to this release's schema (opening it does the same); its status before and after."""
        from nb2prod.store.schema import upgrade_store

        return upgrade_store(self.settings.resolved_store_url)

    # -- runs -------------------------------------------------------------------------------
    def run_notebook(
        self,
        notebook: str | Path,
        parameters: dict[str, Any] | None = None,
        *,
        progress: bool = True,
        timeout_s: float | None = None,
        fail_on: str | None = "error",
    ) -> RunRecord:
        """Lint, then execute a notebook with papermill parameters into a versioned run folder; journal it.

        ``fail_on`` (``error``, ``warning``, ``info`` or ``None``) is the lint severity that stops the run.
        """
        from nb2prod.models import Severity
        from nb2prod.runs import run_notebook

        level = Severity(fail_on) if fail_on else None
        return run_notebook(self.settings, self.store, notebook, parameters, progress=progress, timeout_s=timeout_s, fail_on=level)

    def runs(self, *, limit: int = 50) -> list[RunRecord]:
        return self.store.runs.list(limit=limit)

    # -- lint ---------------------------------------------------------------------
    def lint_notebook(
        self, path: str | Path, *, run: bool = False, history: Sequence[str] | None = None, timeout_s: float = 600.0
    ) -> LintReport:
        """Reproducibility findings for one notebook; ``run=True`` adds restart-and-run-all evidence (two fresh kernels).

        ``history`` is the kernel's input history (``In``), used to find names that only
        deleted cells defined. Raises :class:`~nb2prod.errors.NotebookError` for a missing or corrupt file.
        """
        from nb2prod.lint import lint_notebook

        return lint_notebook(path, run=run, history=history, timeout_s=timeout_s)

    def lint_paths(self, paths: Sequence[str | Path], *, run: bool = False, timeout_s: float = 600.0) -> list[LintReport]:
        """Lint every notebook under ``paths`` (folders recursively); an unreadable file gets its own finding."""
        from nb2prod.lint import lint_paths

        return lint_paths(paths, run=run, timeout_s=timeout_s)

    def lint_fix(self, path: str | Path, fixes: Sequence[str]) -> list[FixResult]:
        """Apply safe fixes (``seed``, ``paths``, ``requirements``, ``manifest`` or ``all``) to one notebook."""
        from nb2prod.lint import apply_fixes

        return apply_fixes(path, fixes)

    def data_manifest(self, path: str | Path) -> list[DataFile]:
        """Data files the notebook reads, with size and sha256 now."""
        from nb2prod.lint import data_manifest

        return data_manifest(path)

    # -- monitoring ---------------------------------------------------------------
    def monitor(
        self,
        name: str,
        *,
        window: str = "1h",
        until: float | None = None,
        business: dict[str, Callable[..., float]] | None = None,
        alpha: float = 0.05,
        min_effect: float = 0.1,
        min_group_size: int = 30,
        n_windows: int = 12,
        metric: str | None = None,
    ) -> MonitorReport:
        """Drift, concept drift, fairness, operations and business metrics of ``name`` (or ``NAME:VERSION``) over ``window``."""
        from nb2prod.monitor.snapshot import monitor_snapshot

        return monitor_snapshot(
            self.store, name, window=window, until=until, business=business, alpha=alpha, min_effect=min_effect,
            min_group_size=min_group_size, n_windows=n_windows, metric=metric,
        )

    def drift(
        self, name: str, *, window: str = "1h", until: float | None = None, alpha: float = 0.05, min_effect: float = 0.1
    ) -> DriftResult:
        """Per-feature data drift of the live inputs against the deploy-time reference sketches (from the ingest profiles)."""
        from nb2prod.monitor.snapshot import window_drift

        return window_drift(self.store, name, window=window, until=until, alpha=alpha, min_effect=min_effect)

    def concept_drift(
        self, name: str, *, window: str = "1d", until: float | None = None, metric: str | None = None, n_windows: int = 12
    ) -> ConceptDriftResult:
        """Live metric (from feedback labels) vs validation metric, with bootstrap CIs and ADWIN."""
        return self.monitor(name, window=window, until=until, metric=metric, n_windows=n_windows).concept  # type: ignore[return-value]

    def fairness(
        self, name: str, *, window: str = "1d", until: float | None = None, min_group_size: int = 30
    ) -> FairnessResult | None:
        """Selection and error rates per protected group, disparate impact and the four-fifths verdict."""
        return self.monitor(name, window=window, until=until, min_group_size=min_group_size).fairness

    def operations(self, name: str, *, window: str = "1h", until: float | None = None) -> OperationsResult:
        """Latency percentiles, throughput and error/fallback/guardrail/override rates by version and window."""
        return self.monitor(name, window=window, until=until).operations

    def evaluate_alerts(
        self,
        name: str,
        rules: Sequence[AlertRule] | str | Path | None = None,
        *,
        webhook: str | None = None,
        business: dict[str, Callable[..., float]] | None = None,
        now: float | None = None,
    ) -> list[AlertCheck]:
        """Evaluate alert rules (a rules file, rule objects, or the defaults); record and POST the firing ones."""
        from nb2prod.monitor.alerts import DEFAULT_RULES, evaluate_rules, load_rules

        chosen = DEFAULT_RULES if rules is None else load_rules(rules) if isinstance(rules, (str, Path)) else rules
        checks, _ = evaluate_rules(self.store, name, chosen, webhook=webhook, business=business, now=now)
        return checks

    # -- inputs the fronts read before calling (they import no feature package) ------
    @staticmethod
    def alert_rules(path: str | Path | None = None) -> list[AlertRule]:
        """The rules in ``path`` (YAML or JSON), else the built-in ones; a bad file fails here, before any evaluation."""
        from nb2prod.monitor.alerts import DEFAULT_RULES, load_rules

        return load_rules(path) if path else list(DEFAULT_RULES)

    @staticmethod
    def business_metrics(specs: Sequence[str]) -> dict[str, Callable[..., float]]:
        """``MODULE:FUNC`` (or ``file.py:FUNC``) specs as the ``business`` mapping ``monitor`` and alerts take."""
        from nb2prod.monitor.business import load_business_metric

        return dict(load_business_metric(s) for s in specs)

    @staticmethod
    def notebooks_in(paths: Sequence[str | Path]) -> list[Path]:
        """The notebook files ``paths`` name (folders searched recursively), as ``lint_paths`` finds them."""
        from nb2prod.lint import discover

        return discover(paths)

    @staticmethod
    def is_model_uri(ref: str) -> bool:
        """``models:/NAME/VERSION`` or ``runs:/RUN_ID/PATH``: a model logged to MLflow, not a notebook or variable."""
        from nb2prod.package.deploy.mlflow_link import is_model_uri

        return is_model_uri(ref)

    def service_token(self) -> str | None:
        """The bearer token this workspace's services accept, once a deploy has created it."""
        from nb2prod.package.service_token import read_token

        return read_token(self.settings.home)

    def rebuild_profiles(self, name: str, *, since: str | None = None) -> int:
        """Recompute ``name``'s monitoring profiles from its audit rows (all, or the last ``since`` window); rows folded."""
        import time as _time

        from nb2prod.monitor.windows import window_bounds

        start = window_bounds(since, _time.time())[0] if since else None
        return self.store.audit.profiles.rebuild(name, since=start)

    def prune_audit(self, older_than: str, *, name: str | None = None) -> int:
        """Delete audit rows (with their feedback and overrides) older than ``older_than``; monitoring profiles stay."""
        import time as _time

        from nb2prod.errors import UsageError
        from nb2prod.monitor.windows import window_bounds

        cutoff = window_bounds(older_than, _time.time())[0]
        if cutoff is None:
            raise UsageError("retention must be a duration, not 'all'", fix="e.g. --older-than 30d")
        return self.store.audit.profiles.delete_audit_before(cutoff, name=name)

    def profile_storage(self, name: str | None = None) -> dict[str, float]:
        """Profile rows, bytes and bytes per bucket (a minute of one deployment, version and arm)."""
        return self.store.audit.profiles.storage(name)

    def alerts(self, name: str | None = None, *, limit: int = 50) -> list[AlertEvent]:
        """Recorded alerts, newest first."""
        return self.store.alerts.list(name, limit=limit)

    def report(self, name: str, *, html: str | Path | None = None, window: str = "1d", until: float | None = None) -> dict[str, Any]:
        """Evidently's deep HTML data-drift report of ``name`` over ``window`` (default path under ``reports/``)."""
        import time as _time

        from nb2prod.monitor.report import html_report

        target = Path(html) if html is not None else self.settings.reports_dir / f"{name.replace(':', '_')}-{int(_time.time())}.html"
        return html_report(self.store, name, target, window=window, until=until)

    # -- deploy ------------------------------------------------------------------------------
    def deploy(
        self,
        model: Any,
        *,
        data: Any,
        target: Any = None,
        holdout: tuple[Any, Any] | None = None,
        namespace: dict[str, Any] | None = None,
        history: Sequence[str] = (),
        progress: Callable[[str], None] | None = None,
        request: DeployRequest | None = None,
        **options: Any,
    ) -> DeployResult:
        """Capture, prove, gate, version, build (and with ``serve=True`` start) ``model`` as a BentoML service.

        ``options`` are the fields of :class:`~nb2prod.package.deploy.DeployRequest` (``name``,
        ``holdout``'s gate ``min_metric``, ``fallback``, ``serve``, ``shadow=PERCENT`` to shadow the
        live version instead of replacing it, ``favorable`` for the fairness checks, …), or pass a
        built ``request``. ``namespace``/``history`` let the capture find notebook-defined code.
        """
        from nb2prod.errors import UsageError
        from nb2prod.package.deploy import DeployInputs, DeployRequest

        if request is None:
            request = DeployRequest.from_options({"actor": _user(), **options})
        elif options:
            raise UsageError("pass either a request or options", fix="put the options in the DeployRequest")
        inputs = DeployInputs(model=model, data=data, target=target, holdout=holdout, namespace=namespace, history=tuple(history))
        return self.deploy_request(request, inputs, progress=progress)

    def deploy_request(self, request: DeployRequest, inputs: DeployInputs, *,
                       progress: Callable[[str], None] | None = None) -> DeployResult:
        """Deploy ``inputs`` as ``request`` says: the one deploy entry every front ends in."""
        from nb2prod.package.deploy import deploy_model

        result = deploy_model(self.settings, self.store, request, inputs, lint=self.lint_notebook, progress=progress)
        return self._render_k8s_after_deploy(result)

    def _render_k8s_after_deploy(self, result: DeployResult) -> DeployResult:
        """The deployment's cluster manifests follow its routing after a deploy; a failed render is a warning, the deploy stands."""
        import dataclasses

        from nb2prod.errors import Nb2prodError

        try:
            self.k8s(result.name)
        except Nb2prodError as exc:
            return dataclasses.replace(result, warnings=[*result.warnings, f"k8s manifests not re-rendered: {exc}"])
        return result

    def deploy_logged(self, request: DeployRequest, *, data: Any = None, target: Any = None, holdout: tuple[Any, Any] | None = None,
                      progress: Callable[[str], None] | None = None) -> DeployResult:
        """Deploy the MLflow model ``request.source`` names (``models:/NAME/VERSION`` or ``runs:/RUN_ID/model``).

        Its signature and input example give the schema unless ``data`` (the training frame) is passed;
        ``target``/``holdout`` enable the baseline fallback and the validation gate as for any deploy.
        """
        from nb2prod.package.deploy.mlflow_link import logged_inputs

        inputs = logged_inputs(self.settings, request, data=data, target=target, holdout=holdout)
        return self.deploy_request(request, inputs, progress=progress)

    def deploy_from_namespace(self, request: DeployRequest, namespace: dict[str, Any], *, history: Sequence[str] = (),
                              progress: Callable[[str], None] | None = None) -> DeployResult:
        """Deploy the variables ``request`` names (``model_var``, ``data_var``, …) from a kernel's ``namespace``."""
        from nb2prod.package.deploy import DeployInputs

        return self.deploy_request(request, DeployInputs.from_namespace(request, namespace, history), progress=progress)

    def serve(self, ref: str, *, port: int | None = None, timeout_s: float = 180.0) -> ServeInfo:
        """Start ``NAME[:VERSION]``'s Bento on 127.0.0.1 in the background; return when ``/readyz`` answers."""
        from nb2prod.package.names import split_ref
        from nb2prod.package.serving import serve_version

        split_ref(ref)
        return serve_version(self.settings, self.store.registry.resolve(ref), port=port, timeout_s=timeout_s)

    def stop(self, ref: str | None = None) -> list[ServeInfo]:
        """Stop the local services of ``NAME[:VERSION]`` (all of this workspace's without ``ref``)."""
        from nb2prod.package.names import split_ref
        from nb2prod.package.serving import stop_services

        if ref is None:
            return stop_services(self.settings)
        name, version = split_ref(ref)
        version_id = self.store.registry.resolve(ref).version_id if version else None
        return stop_services(self.settings, name=name, version_id=version_id)

    def services(self) -> list[ServeInfo]:
        """Local services started from this workspace that are still running."""
        from nb2prod.package.serving import running_services

        return [info for _, info in running_services(self.settings)]

    def serve_topology(
        self, name: str, *, replicas: int = 2, port: int | None = None, protect_predict: bool = False,
        require_postgres: bool = False, timeout_s: float = 180.0,
    ) -> Topology:
        """The cluster's shape on one machine: a ``bentoml serve`` per routed version (``replicas`` of the live one) behind nginx.

        nginx splits by the canary/control weights, mirrors the shadow's share and passes its
        request id; every replica writes to this workspace's store (PostgreSQL for a faithful
        run; SQLite with a warning unless ``require_postgres``). Returns the started
        :class:`~nb2prod.package.topology.Topology`: call ``watch(stop_event)`` to follow traffic
        changes, ``stop()`` to end it.
        """
        from nb2prod.package.names import validate_name
        from nb2prod.package.topology import Topology

        topology = Topology(self.settings, self.store, validate_name(name), replicas=replicas, port=port,
                            protect_predict=protect_predict, allow_sqlite=not require_postgres, ready_timeout_s=timeout_s)
        topology.start()
        return topology

    def stop_topology(self, name: str | None = None) -> list[str]:
        """Stop the running topology of ``name`` (all of this workspace's without it); the names stopped."""
        from nb2prod.package.topology import stop_topologies

        return stop_topologies(self.settings, name)

    def versions(self, name: str) -> list[tuple[VersionRecord, VersionState]]:
        """All versions of deployment ``name``, newest first, with their state."""
        from nb2prod.errors import NotFoundError
        from nb2prod.package.names import validate_name

        found = self.store.registry.versions(validate_name(name))
        if not found:
            raise NotFoundError(f"no deployment named {name!r}", fix="deploy one with %deploy or `nb2prod deploy`")
        return found

    def rebuild(self, ref: str, *, timeout_s: float | None = None, progress: bool = False) -> RebuildResult:
        """Re-run ``NAME:VERSION``'s notebook with its recorded parameters, retrain, and compare with the stored model."""
        from nb2prod.package.names import split_ref
        from nb2prod.runs.rebuild import rebuild_version

        split_ref(ref)
        return rebuild_version(self.settings, self.store, self.store.registry.resolve(ref), timeout_s=timeout_s, progress=progress)

    def deploy_notebook(
        self,
        notebook: str | Path,
        *,
        request: DeployRequest | None = None,
        progress: Callable[[str], None] | None = None,
        show_cells: bool = False,
        **options: Any,
    ) -> DeployResult:
        """Run ``notebook`` (papermill, in its own folder) and deploy the model it fits.

        ``options`` are :class:`~nb2prod.package.deploy.DeployRequest` fields: the variables
        (``model_var="model"``, ``data_var="X_train"``, ``target_var="y_train"``, ``holdout_vars``),
        ``parameters`` for papermill, ``timeout_s``, ``lint_fail_on`` (error, warning, info, never),
        ``cell``/``upto`` to capture before the end, and every deploy option. ``progress`` gets one
        line per phase.
        """
        from nb2prod.errors import UsageError
        from nb2prod.package.deploy import DeployRequest
        from nb2prod.runs.notebook_deploy import deploy_notebook

        if request is None:
            defaults = {"actor": _user(), "model_var": "model", "data_var": "X_train", "target_var": "y_train"}
            request = DeployRequest.from_options({**defaults, **options})
        elif options:
            raise UsageError("pass either a request or options", fix="put the options in the DeployRequest")
        return self._render_k8s_after_deploy(
            deploy_notebook(self.settings, self.store, notebook, request, progress=progress, show_cells=show_cells)
        )

    # -- traffic: every change is one transition (nb2prod.rollout.transitions) applied by the registry --
    def promote(self, ref: str, *, actor: str | None = None, reason: str = "", approve: bool = False,
                policy: RolloutPolicy | None = None) -> DeploymentStatus:
        """Make ``NAME:VERSION`` live; the previous live version is retired. Recorded in the history.

        A version in shadow must pass the shadow gate first; when the gate routes it to a
        human (divergent but significantly better on labelled outcomes), ``approve=True`` is that human.
        """
        from nb2prod.rollout import verbs

        change = verbs.promote(self.store, _ref(ref), actor=actor or _user(), reason=reason, approve=approve, policy=policy)
        self._follow_in_cluster(change.traffic.name)
        return self.deployment(change.traffic.name)

    def rollback(self, name: str, *, to: str | None = None, actor: str | None = None, reason: str = "") -> DeploymentStatus:
        """Undo the last traffic change: stop a running canary, else make the previously live version (or ``to``) live again."""
        from nb2prod.package.names import validate_name
        from nb2prod.rollout import verbs

        verbs.rollback(self.store, validate_name(name), to=to, actor=actor or _user(), reason=reason)
        self._follow_in_cluster(name)
        return self.deployment(name)

    def canary(self, ref: str, percent: float, *, actor: str | None = None, reason: str = "") -> DeploymentStatus:
        """Send ``percent`` (0 < p < 100) of ``NAME:VERSION``'s deployment traffic to that version; the rest stays live."""
        from nb2prod.rollout import verbs

        change = verbs.canary(self.store, _ref(ref), percent, actor=actor or _user(), reason=reason)
        self._follow_in_cluster(change.traffic.name)
        return self.deployment(change.traffic.name)

    def shadow(self, ref: str, *, percent: float = 100.0, actor: str | None = None, reason: str = "") -> Traffic:
        """Run ``NAME:VERSION`` beside the live version on ``percent`` of live requests (answers unchanged)."""
        from nb2prod.rollout import verbs

        traffic = verbs.shadow(self.store, _ref(ref), percent, actor=actor or _user(), reason=reason).traffic
        self._follow_in_cluster(traffic.name)
        return traffic

    def control(self, ref: str, *, percent: float, actor: str | None = None, reason: str = "") -> Traffic:
        """Always serve ``percent`` of traffic from a reference version (the control group)."""
        from nb2prod.rollout import verbs

        traffic = verbs.control(self.store, _ref(ref), percent, actor=actor or _user(), reason=reason).traffic
        self._follow_in_cluster(traffic.name)
        return traffic

    def _follow_in_cluster(self, name: str) -> None:
        """Re-render ``name``'s cluster manifests after a traffic change, for every front (CLI, panels, magics, Python).

        The change has succeeded already: a failed render is one warning, never the change's error.
        """
        from nb2prod.errors import Nb2prodError

        try:
            self.k8s(name)
        except Nb2prodError as exc:
            logging.getLogger("nb2prod").warning("k8s manifests of %s not re-rendered: %s", name, exc)

    # -- rollout evidence: comparison, gate, canary check ----------------------------
    def compare(self, name: str, *, candidate: str | None = None, window: str | None = None) -> ShadowComparison:
        """Live vs shadow on the same requests: agreement CI, flip matrix, score divergence, segments, McNemar."""
        import time as _time

        from nb2prod.monitor.windows import window_bounds
        from nb2prod.rollout.actions import shadow_comparison

        since, until = window_bounds(window, _time.time()) if window else (None, None)
        return shadow_comparison(self.store, name, candidate=candidate, since=since, until=until)

    def gate(self, name: str, *, candidate: str | None = None, policy: RolloutPolicy | None = None,
             actor: str | None = None) -> GateDecision:
        """Run the two-stage shadow gate now and record its decision with the evidence."""
        from nb2prod.rollout.actions import run_gate

        return run_gate(self.store, name, candidate=candidate, policy=policy, actor=actor or _user())

    def check_canary(self, name: str, *, policy: RolloutPolicy | None = None, actor: str | None = None,
                     rollback: bool = True) -> CanaryVerdict:
        """Judge the running canary; roll it back automatically when a limit is crossed."""
        from nb2prod.rollout.actions import check_canary

        return check_canary(self.store, name, policy=policy, actor=actor or "nb2prod-canary-check", rollback=rollback)

    # -- panels (what the JupyterLab panels show) ----------------------------------
    def deployments(self) -> list[DeploymentStatus]:
        """Every deployment with its routing and versions (newest first); no history."""
        return [self._status(name, history=0) for name in self.store.registry.names()]

    def deployment(self, name: str, *, history: int = 100) -> DeploymentStatus:
        """One deployment: routing, versions with state and traffic share, and its last ``history`` events."""
        from nb2prod.errors import NotFoundError
        from nb2prod.package.names import validate_name

        status = self._status(validate_name(name), history=history)
        if not status.versions:
            raise NotFoundError(f"no deployment named {name!r}", fix="deploy one with %deploy or `nb2prod deploy`")
        return status

    def _status(self, name: str, *, history: int) -> DeploymentStatus:
        from nb2prod.models import DeploymentStatus, VersionStatus
        from nb2prod.rollout.transitions import allowed_actions, rollback_target, shares
        from nb2prod.runs.schedule import schedule_item

        registry = self.store.registry
        snapshot = registry.snapshot(name)
        traffic, percents = snapshot.traffic, shares(snapshot.traffic)
        versions = tuple(
            VersionStatus(record=record, state=snapshot.states.get(record.version_id, state),
                          traffic_percent=percents.get(record.version_id, 0.0), actions=allowed_actions(snapshot, record.version_id))
            for record, state in registry.versions(name)
        )
        events = tuple(registry.events(name, limit=history)) if history else ()
        retrain = schedule_item(self.store, name) if versions else None
        rollback = {"rollback_stops": traffic.canary, "rollback_target": None if traffic.canary else rollback_target(snapshot)}
        return DeploymentStatus(name=name, traffic=traffic, versions=versions, events=events, retrain=retrain, **rollback)

    def drift_series(
        self, name: str, *, window: str = "1d", points: int | None = None, until: float | None = None, alpha: float = 0.05,
        min_effect: float = 0.1,
    ) -> list[DriftResult]:
        """Per-feature drift in ``points`` equal sub-windows of ``window`` (oldest first); sub-windows under 30 rows are left out.

        ``points=None`` picks the width from the window (a day: 48 half-hour points).
        """
        from nb2prod.monitor.snapshot import drift_series

        return drift_series(self.store, name, window=window, points=points, until=until, alpha=alpha, min_effect=min_effect)

    def monitor_with_series(
        self, name: str, *, window: str = "1d", points: int | None = None, until: float | None = None, alpha: float = 0.05,
        min_effect: float = 0.1,
    ) -> tuple[MonitorReport, list[DriftResult]]:
        """``monitor`` and ``drift_series`` at the same ``points`` from one read of the window's profiles (a dashboard refresh)."""
        from nb2prod.monitor.snapshot import monitor_with_series

        return monitor_with_series(self.store, name, window=window, points=points, until=until, alpha=alpha, min_effect=min_effect)

    # -- retraining ---------------------------------------------------------------
    def retrain(
        self,
        name: str,
        *,
        data: Any = None,
        parameters: dict[str, Any] | None = None,
        feedback: bool = True,
        auto_promote: bool | None = None,
        approve: bool = False,
        before_gate: Callable[[str], None] | None = None,
        check: bool = True,
        timeout_s: float | None = None,
        progress: bool = False,
        actor: str | None = None,
        deploy_options: dict[str, Any] | None = None,
        notebook: str | Path | None = None,
    ) -> RetrainResult:
        """Retrain ``name``: data contract, feedback labels, papermill training + validation gate, shadow, shadow gate, promotion.

        ``data`` (a DataFrame or a CSV/Parquet path) is checked against the live version's data
        contract before any kernel starts and passed as the notebook's ``data_path``; the labelled
        requests go in as ``feedback_path``. A failed or refused step leaves the live version untouched.
        ``deploy_options`` go to deploy (e.g. the validation gate's ``tolerance``); ``notebook`` replaces the
        recorded training notebook for this run (the cluster's CronJob reads it from a mounted ConfigMap).
        """
        from nb2prod.runs import retrain

        return retrain(
            self.settings, self.store, name, promote=self.promote, data=data, parameters=parameters, use_feedback=feedback,
            auto_promote=auto_promote, approve=approve, before_gate=before_gate, actor=actor or _user(), timeout_s=timeout_s,
            progress=progress, check=check, deploy_options=deploy_options, notebook=notebook,
        )

    def check_contract(self, ref: str, data: Any, *, tolerance: float = 0.1, max_share: float = 0.01) -> ContractReport:
        """Check new data (DataFrame or file) against the data contract of ``NAME[:VERSION]`` (the live one by default)."""
        from nb2prod.package.names import split_ref
        from nb2prod.runs import check_contract

        split_ref(ref)
        return check_contract(self.store.registry.resolve(ref), data, tolerance=tolerance, max_share=max_share)

    def set_retrain_policy(
        self,
        name: str,
        *,
        max_age_days: float | None = 30.0,
        on_alerts: Sequence[str] = ("data drift", "concept drift"),
        auto_promote: bool = False,
        parameters: dict[str, Any] | None = None,
        notebook: str | Path | None = None,
        cron: str = "0 3 * * *",
        actor: str | None = None,
    ) -> RetrainPolicy:
        """Record ``name``'s retraining policy: expiry (max age), alert triggers, promotion mode, run parameters."""
        from nb2prod.models import RetrainPolicy
        from nb2prod.package.names import validate_name
        from nb2prod.runs import set_policy

        policy = RetrainPolicy(
            name=validate_name(name), max_age_days=max_age_days, on_alerts=tuple(on_alerts), auto_promote=auto_promote,
            parameters=dict(parameters or {}), notebook=str(Path(notebook).expanduser().resolve()) if notebook else None, cron=cron,
        )
        return set_policy(self.store, policy, actor=actor or _user())

    def retrain_policy(self, name: str) -> RetrainPolicy | None:
        """The latest retraining policy of ``name`` (``None`` when none was set)."""
        from nb2prod.runs import get_policy

        return get_policy(self.store, name)

    def schedule(self, *, now: float | None = None) -> list[ScheduleItem]:
        """Every deployment's retraining status: due ones first, expired models flagged."""
        from nb2prod.runs import due_retrains

        return due_retrains(self.store, now=now)

    def cronjob(self, *, image: str, schedule: str = "0 3 * * *", name: str = "nb2prod-retrain",
                namespace: str | None = None, store_secret: str = "nb2prod-store") -> dict[str, Any]:
        """A Kubernetes CronJob manifest that runs ``nb2prod schedule --run`` on a cluster."""
        from nb2prod.runs import cronjob_manifest

        return cronjob_manifest(image=image, schedule=schedule, name=name, namespace=namespace, store_secret=store_secret)

    def k8s(self, name: str, *, out: str | Path | None = None, apply: bool = False, **options: Any) -> ClusterManifests:
        """Render ``name``'s cluster topology from the store's routing: a Deployment + Service per routed version
        (HPA for live and canary), the Gateway API HTTPRoute (weights = canary/control, mirror = shadow) and the
        retraining CronJob + PVC, into ``<home>/deployments/NAME/k8s`` (or ``out``); ``apply`` runs ``kubectl apply``
        when kubectl has a current context. ``options`` (``registry``, ``gateway``, ``namespace``, ``hostnames``,
        ``protect_predict``, …) are recorded for the renders after every traffic change.
        """
        from nb2prod.package.k8s import render_cluster
        from nb2prod.runs import get_policy

        policy = get_policy(self.store, name)
        return render_cluster(self.settings, self.store, name, out=out, apply=apply, schedule=policy.cron if policy else None,
                              **options)


def _ref(ref: str) -> str:
    from nb2prod.package.names import split_ref

    split_ref(ref)
    return ref


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
