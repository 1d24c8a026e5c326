"""The core API's runs and retraining part: parameterised runs, the retrain loop, data contracts, schedules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from nb2prod.models import ContractReport, RetrainPolicy, RetrainResult, RunRecord, ScheduleItem

from nb2prod.api._base import _user
from nb2prod.api._traffic import TrafficVerbs

__all__ = ["Retraining"]


class Retraining(TrafficVerbs):
    """The core API's runs and retraining part: parameterised runs, the retrain loop, data contracts, schedules."""

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
        return set_policy(self.store, policy, actor=actor or _user(), known_triggers=self.alert_triggers(policy.name))

    def alert_triggers(self, name: str) -> list[str]:
        """The rule names and metrics an alert of ``name`` can carry: the built-in rules, the rules file
        of ``NB2PROD_ALERT_RULES``, and any rule that already fired for it (e.g. from ``alerts --rules``)."""
        from nb2prod.monitor.alerts import DEFAULT_RULES, load_rules

        rules = list(DEFAULT_RULES) + (load_rules(self.settings.alert_rules) if self.settings.alert_rules else [])
        known = {r.name for r in rules} | {r.metric for r in rules}
        for fired in self.store.alerts.list(name, limit=10_000):
            known |= {fired.rule, fired.metric}
        return sorted(known)

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
