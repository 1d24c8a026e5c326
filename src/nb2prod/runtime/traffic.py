"""The service's view of its deployment's traffic: which version answers, which one shadows.

A background thread polls the store's :class:`~nb2prod.models.Traffic` for this deployment
(every ``poll_s``, no restart needed), loads the Predictors of the versions it names (lazily,
once each, from their ``deployment_dir``; a version that fails to load is recorded and skipped)
and publishes an immutable :class:`RoutingTable`. Versions that answer (live, canary, control)
load in this process; the shadowing version loads in a child process
(:class:`~nb2prod.runtime.isolated.IsolatedPredictor`), so its work never competes with the
live answers for this process's GIL. Requests read the current table without a
lock. While a canary runs, the same thread calls the canary check every ``canary_check_s`` so a
failing canary is rolled back without anyone acting; the next poll sees the new traffic.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from nb2prod.errors import Nb2prodError, NotFoundError
from nb2prod.models import CanaryVerdict, RolloutPolicy, Traffic
from nb2prod.rollout.routing import Route, route_request

if TYPE_CHECKING:
    from collections.abc import Sequence

    from nb2prod.runtime.audit_writer import StoreHandle
    from nb2prod.runtime.predictor import Outputs, Predictor
    from nb2prod.runtime.spec import DeploymentSpec

__all__ = ["RolloutSettings", "RoutingTable", "RowPredictor", "TrafficWatcher", "load_version_predictor"]

log = logging.getLogger("nb2prod.runtime")
ACTOR = "nb2prod-service"
RETIRED_SHADOW_GRACE_S = 30.0  # a shadow process outlives its traffic this long (batches in flight finish)


class RowPredictor(Protocol):
    """What the shadow worker needs of a version: ``predict_rows`` and a label."""

    label: str

    def predict_rows(self, rows: Sequence[dict[str, Any]]) -> Outputs: ...


def load_shadow_predictor(folder: str, version_id: str, timeout_s: float = 30.0) -> RowPredictor:
    """The shadowing version, loaded in its own process (see :mod:`nb2prod.runtime.isolated`)."""
    from nb2prod.runtime.isolated import IsolatedPredictor

    return IsolatedPredictor(folder, version_id, timeout_s=timeout_s)


@dataclass(frozen=True, slots=True)
class RolloutSettings:
    """``deployment.json``'s optional ``rollout`` block: polling, shadow queue, canary check, policy."""

    traffic_poll_s: float = 1.0
    canary_check_s: float = 5.0
    shadow_queue: int = 1000
    shadow_timeout_ms: float | None = None  # default: well above the deployment's timeout_ms (shadow_deadline_ms)
    shadow_batch_ms: float = 1000.0  # the shadow worker gathers rows this long (or max_batch rows) before one model call
    policy: RolloutPolicy = field(default_factory=RolloutPolicy)

    @classmethod
    def from_spec(cls, spec: DeploymentSpec) -> RolloutSettings:
        raw: dict[str, Any] = dict(spec.raw.get("rollout") or {})
        policy_raw = raw.get("policy") or {}
        known = set(RolloutPolicy.__dataclass_fields__)
        policy = RolloutPolicy(**{k: v for k, v in policy_raw.items() if k in known})

        def number(key: str, default: float, low: float) -> float:
            value = raw.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < low:
                from nb2prod.errors import InvalidInputError

                raise InvalidInputError(
                    f"{spec.folder / 'deployment.json'}: rollout.{key} must be a number >= {low}, got {value!r}",
                    fix="correct the rollout block of deployment.json",
                )
            return float(value)

        timeout = raw.get("shadow_timeout_ms")
        return cls(
            traffic_poll_s=number("traffic_poll_s", 1.0, 0.01),
            canary_check_s=number("canary_check_s", 5.0, 0.05),
            shadow_queue=int(number("shadow_queue", 1000, 1)),
            shadow_batch_ms=number("shadow_batch_ms", 1000.0, 0.0),
            shadow_timeout_ms=None if timeout is None else number("shadow_timeout_ms", 0, 1.0),
            policy=policy,
        )


def load_version_predictor(folder: str, version_id: str) -> Predictor:
    """The Predictor of another version of this deployment, from its deployment folder."""
    from nb2prod.runtime.loading import load_model
    from nb2prod.runtime.predictor import Predictor
    from nb2prod.runtime.spec import load_spec

    spec = load_spec(folder)
    if spec.version_id != version_id:
        raise NotFoundError(
            f"{folder} holds {spec.version_id}, not {version_id}", fix="re-register the version with its own deployment folder"
        )
    return Predictor(load_model(spec.folder), spec, label=version_id)


@dataclass(frozen=True)
class RoutingTable:
    """One snapshot: the traffic and the loaded predictors of the versions it names (own version excluded)."""

    own: str
    traffic: Traffic | None = None
    predictors: dict[str, Predictor] = field(default_factory=dict)
    shadows: dict[str, RowPredictor] = field(default_factory=dict)  # the shadowing version, in its own process

    def available(self, version_id: str | None) -> bool:
        return version_id is not None and (version_id == self.own or version_id in self.predictors)

    def route(self, key: str | None, rng: random.Random) -> Route:
        """The arm for one request; versions not loaded (yet, or failed) fall back to the live one."""
        traffic = self.traffic
        if traffic is None or not traffic.live or not self.available(traffic.live):
            return Route("live", self.own, None)
        route = route_request(traffic, key, rng=rng)
        if not self.available(route.version_id):  # canary / control not loaded: the live version answers
            live_only = Traffic(**{**traffic.to_dict(), "canary": None, "canary_percent": 0.0, "control": None, "control_percent": 0.0})
            route = route_request(live_only, key, rng=rng)
        shadow = route.shadow_version  # the shadowing candidate, or the live version shadowing a canary row
        if shadow is not None and shadow not in self.shadows and not self.available(shadow):
            route = Route(route.arm, route.version_id, None)
        return route


class TrafficWatcher:
    """Polls the deployment's traffic, keeps the routing table current and runs the canary check."""

    def __init__(
        self,
        spec: DeploymentSpec,
        store: StoreHandle,
        settings: RolloutSettings,
        *,
        loader: Any = load_version_predictor,
        shadow_loader: Any = load_shadow_predictor,
        gateway: bool = False,
    ) -> None:
        self.spec = spec
        self.gateway = gateway  # a gateway routes: read the traffic (for this version's arm), load no other version
        self.store = store
        self.settings = settings
        self.table = RoutingTable(own=spec.version_id)
        self.load_errors: dict[str, str] = {}
        self.last_verdict: CanaryVerdict | None = None
        self.last_error: str | None = None
        self.rollbacks = 0
        self._loader = loader
        self._shadow_loader = shadow_loader
        self._loaded: dict[str, Predictor] = {}
        self._shadows: dict[str, RowPredictor] = {}
        self._retired: list[tuple[float, RowPredictor]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_check = 0.0
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{spec.version_id}"[:128]

    def predictor(self, version_id: str) -> Predictor | None:
        """A loaded version's predictor (None when not loaded, or it failed to load)."""
        return self._loaded.get(version_id)

    def start_polling(self) -> TrafficWatcher:
        """Poll the store in a background thread (call :meth:`refresh` first for a table at once)."""
        self._thread = threading.Thread(target=self._run, name="nb2prod-traffic", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop polling and stop the shadow processes."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for shadow in [*self._shadows.values(), *(p for _, p in self._retired)]:
            _close(shadow)
        self._shadows, self._retired = {}, []

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _load(self, version_id: str, loader: Any, loaded: dict[str, Any], role: str) -> Any:
        if version_id in loaded:
            return loaded[version_id]
        if version_id in self.load_errors:
            return None
        try:
            record = self.store.get().registry.get(version_id)
            if not record.deployment_dir:
                raise NotFoundError(f"{version_id} has no deployment folder", fix="re-deploy it with %deploy")
            predictor = loader(record.deployment_dir, version_id)
        except Exception as exc:  # a candidate that cannot load never breaks live answers
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.load_errors[version_id] = f"{type(exc).__name__}: {message}"[:300]
            log.error("version %s not loaded; its traffic stays on the live version: %s", version_id, message)
            return None
        loaded[version_id] = predictor
        log.info("version %s loaded %s", version_id, role)
        return predictor

    def _predictor(self, version_id: str) -> Predictor | None:
        predictor: Predictor | None = self._load(version_id, self._loader, self._loaded, "for routing")
        return predictor

    def _shadow(self, version_id: str) -> RowPredictor | None:
        shadow: RowPredictor | None = self._load(version_id, self._shadow_loader, self._shadows, "to shadow, in its own process")
        return shadow

    def _retire_shadows(self, keep: set[str]) -> None:
        """Shadow processes no longer named by the traffic stop after a grace period."""
        now = time.monotonic()
        for version_id in [v for v in self._shadows if v not in keep]:
            self._retired.append((now, self._shadows.pop(version_id)))
        due = [p for at, p in self._retired if now - at >= RETIRED_SHADOW_GRACE_S]
        self._retired = [(at, p) for at, p in self._retired if now - at < RETIRED_SHADOW_GRACE_S]
        for shadow in due:
            _close(shadow)

    def refresh(self) -> RoutingTable:
        """Read the traffic once, load what it names, publish the new table."""
        traffic = self.store.get().registry.traffic(self.spec.name)
        own = self.spec.version_id
        if traffic.live is None and traffic.canary is None and traffic.control is None and traffic.shadow is None:
            table = RoutingTable(own=own)
        elif self.gateway:
            table = RoutingTable(own=own, traffic=traffic)
        else:
            wanted = {v for v in (traffic.live, traffic.canary, traffic.control) if v and v != own}
            predictors = {v: p for v in sorted(wanted) if (p := self._predictor(v)) is not None}
            shadows = {}
            if traffic.shadow and traffic.shadow != own and (shadow := self._shadow(traffic.shadow)) is not None:
                shadows[traffic.shadow] = shadow
            table = RoutingTable(own=own, traffic=traffic, predictors=predictors, shadows=shadows)
        self.table = table
        self._retire_shadows(set(table.shadows))
        return table

    def check_canary(self) -> CanaryVerdict | None:
        """The canary check (automatic rollback); None when no canary runs."""
        from nb2prod.rollout.actions import check_canary

        store = self.store.get()
        # Every replica (and, behind a gateway, every version's service) runs this loop: only the
        # lease holder judges and rolls back, so N replicas record one rollback, not N.
        if not store.leases.try_acquire(f"canary:{self.spec.name}", self._holder, ttl_s=max(10.0, 3 * self.settings.canary_check_s)):
            return None
        try:
            verdict = check_canary(store, self.spec.name, policy=self.settings.policy, actor=ACTOR, rollback=True)
        except NotFoundError:
            return None
        self.last_verdict = verdict
        if verdict.verdict == "rollback":
            self.rollbacks += 1
            log.warning("canary %s rolled back automatically: %s", verdict.canary_version, "; ".join(verdict.reasons))
            self.refresh()
        return verdict

    def _run(self) -> None:
        while not self._stop.wait(self.settings.traffic_poll_s):
            try:
                table = self.refresh()
                now = time.monotonic()
                if table.traffic is not None and table.traffic.canary and now >= self._next_check:
                    self._next_check = now + self.settings.canary_check_s
                    self.check_canary()
                self.last_error = None
            except Nb2prodError as exc:
                self.last_error = str(exc)
            except Exception as exc:  # the store may be briefly unreachable: keep the last table
                if str(exc) != self.last_error:
                    log.warning("traffic not refreshed: %s", exc)
                self.last_error = str(exc)

    def snapshot(self) -> dict[str, Any]:
        traffic = self.table.traffic
        return {
            "traffic": None if traffic is None else traffic.to_dict(),
            "loaded": sorted({*self.table.predictors, *self.table.shadows}),
            "shadow_processes": {v: {"pid": getattr(p, "pid", None), "alive": getattr(p, "alive", None),
                                     "restarts": getattr(p, "restarts", 0)} for v, p in self.table.shadows.items()},
            "load_errors": dict(self.load_errors),
            "canary_check": None if self.last_verdict is None else self.last_verdict.to_dict(),
            "automatic_rollbacks": self.rollbacks,
            "last_error": self.last_error,
        }


def _close(shadow: RowPredictor) -> None:
    close = getattr(shadow, "close", None)
    if callable(close):
        try:
            close()
        except Exception as exc:  # stopping a shadow process must not break the service
            log.warning("shadow process of %s not stopped cleanly: %s", shadow.label, exc)
