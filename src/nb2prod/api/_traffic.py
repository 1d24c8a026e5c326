"""The core API's rollout part: traffic verbs (each one transition applied by the registry), shadow evidence, deployment status."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nb2prod.models import CanaryVerdict, DeploymentStatus, GateDecision, RolloutPolicy, ShadowComparison, Traffic

from nb2prod.api._base import _ref, _user
from nb2prod.api._deploying import Deploying

__all__ = ["TrafficVerbs"]


class TrafficVerbs(Deploying):
    """The core API's rollout part: traffic verbs (each one transition applied by the registry), shadow evidence, deployment status."""

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

    def canary(self, ref: str, percent: float, *, actor: str | None = None, reason: str = "",
               approve: bool = False) -> DeploymentStatus:
        """Send ``percent`` (0 < p < 100) of ``NAME:VERSION``'s deployment traffic to that version; the rest stays live.

        A version whose latest shadow gate blocked it needs ``approve=True`` (a human accepting the risk)."""
        from nb2prod.rollout import verbs

        change = verbs.canary(self.store, _ref(ref), percent, actor=actor or _user(), reason=reason, approve=approve)
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
        gates: dict[str, str] = {}  # each version's latest shadow gate verdict (events come newest first)
        for event in registry.events(name, limit=1000):
            if event.action == "gate" and event.version_id:
                gates.setdefault(event.version_id, str(event.evidence.get("verdict")))
        versions = tuple(
            VersionStatus(record=record, state=snapshot.states.get(record.version_id, state),
                          traffic_percent=percents.get(record.version_id, 0.0),
                          actions=allowed_actions(snapshot, record.version_id, gates.get(record.version_id)))
            for record, state in registry.versions(name)
        )
        events = tuple(registry.events(name, limit=history)) if history else ()
        retrain = schedule_item(self.store, name) if versions else None
        stops = traffic.canary or traffic.control  # what a plain rollback ends first (rollout.transitions)
        rollback = {"rollback_stops": stops, "rollback_target": None if stops else rollback_target(snapshot)}
        return DeploymentStatus(name=name, traffic=traffic, versions=versions, events=events, retrain=retrain, **rollback)
