"""The core API's deploy part: deploy (from a kernel, a notebook or MLflow), serve, versions, rebuild, cluster manifests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from nb2prod.models import DeployResult, RebuildResult, ServeInfo, VersionRecord, VersionState
    from nb2prod.package.deploy import DeployInputs, DeployRequest
    from nb2prod.package.k8s import ClusterManifests
    from nb2prod.package.topology import Topology

from nb2prod.api._base import _user
from nb2prod.api._lint import Linting

__all__ = ["Deploying"]


class Deploying(Linting):
    """The core API's deploy part: deploy (from a kernel, a notebook or MLflow), serve, versions, rebuild, cluster manifests."""

    @staticmethod
    def is_model_uri(ref: str) -> bool:
        """``models:/NAME/VERSION`` or ``runs:/RUN_ID/PATH``: a model logged to MLflow, not a notebook or variable."""
        from nb2prod.package.deploy.mlflow_link import is_model_uri

        return is_model_uri(ref)

    def service_token(self) -> str | None:
        """The bearer token this workspace's services accept, once a deploy has created it."""
        from nb2prod.package.service_token import read_token

        return read_token(self.settings.home)

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
        _refuse_notebook_run_options(request, "Workspace.deploy(model=..., data=...)")
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

        _refuse_notebook_run_options(request, f"a deploy of {request.source or 'an MLflow model'}")
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


def _refuse_notebook_run_options(request: DeployRequest, what: str) -> None:
    """Options that only steer a notebook run nb2prod starts would be silently ignored for objects already in memory: refuse them."""
    from nb2prod.errors import UsageError
    from nb2prod.package.deploy.request import DEPLOY_OPTIONS, default_of

    for option in DEPLOY_OPTIONS:
        if option.fronts != frozenset({"cli"}) or option.field in ("model_var",):
            continue
        if getattr(request, option.field) != default_of(option.field):
            raise UsageError(f"{option.field} ({option.flags[0]}) steers a notebook run; {what} deploys objects already in memory",
                             fix=f"drop {option.field}, or deploy the notebook with Workspace.deploy_notebook(NOTEBOOK, {option.field}=...) "
                                 f"(nb2prod deploy NOTEBOOK {option.flags[0]} ...)")
