"""The cluster's shape on one machine: per-version replicas behind nginx, kept in line with the store's traffic.

:class:`Topology` starts one ``bentoml serve`` process per routed version (``replicas`` of the
live one), renders nginx's configuration from the deployment's :func:`route_plan` and starts
nginx. :meth:`Topology.reconcile` (run every second by :meth:`Topology.watch`) does what a
cluster's controllers do: it starts the replicas of a version the traffic newly names (a canary,
a shadow, a promoted version), re-renders and reloads nginx when the plan changes (so
``nb2prod canary/shadow/promote/rollback`` from any shell, or an automatic rollback inside a
replica, reach the gateway within a poll), stops the replicas of versions no longer routed, and
replaces a replica that died — after draining its audit spool into the store, so no answered
request's row waits for the restart.

The run folder ``<home>/topology/<name>/`` holds nginx's files, the replicas' logs and spools
and ``topology.json`` (pids, ports, URL) which ``nb2prod serve --stop`` reads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from nb2prod.errors import ConflictError, ServiceError, UsageError
from nb2prod.package.service_token import ServiceToken
from nb2prod.package.serving import free_port, port_free
from nb2prod.package.topology.nginx import NginxFiles, find_nginx, nginx_check, render_nginx
from nb2prod.package.topology.replicas import Replica, ReplicaEnv, start_replica
from nb2prod.rollout.route_plan import RoutePlan, route_plan
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["STATE_FILE", "Topology", "TopologyInfo", "running_topologies", "stop_topologies"]

log = logging.getLogger("nb2prod.topology")
STATE_FILE = "topology.json"
GATEWAY_PORT = 8080
CRASH_LOOP_S = 60.0  # a replica that exits sooner than this after its start is restarted with a growing delay


@dataclass(frozen=True)
class TopologyInfo:
    """A running topology: the gateway's URL, the replicas, the store and what to do with them."""

    name: str
    url: str
    store_url: str
    replicas: list[dict[str, Any]]
    protect_predict: bool
    token_usage: str
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "store_url": self.store_url, "replicas": self.replicas,
                "protect_predict": self.protect_predict, "token_usage": self.token_usage, "warnings": self.warnings}


def _redacted(url: str) -> str:
    from nb2prod.store.engine import redacted_url

    return redacted_url(url)


class Topology:
    """Replicas of every routed version of deployment ``name`` behind one nginx gateway."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        name: str,
        *,
        replicas: int = 2,
        port: int | None = None,
        protect_predict: bool = False,
        allow_sqlite: bool = True,
        ready_timeout_s: float = 180.0,
    ) -> None:
        if replicas < 1:
            raise UsageError(f"--replicas must be at least 1, got {replicas}", fix="e.g. --replicas 2")
        self.settings = settings
        self.store = store
        self.name = name
        self.replicas = replicas
        self.protect_predict = protect_predict
        self.ready_timeout_s = ready_timeout_s
        self.store_url = settings.resolved_store_url
        self.warnings: list[str] = []
        if not self.store_url.startswith("postgresql"):
            if not allow_sqlite:
                raise UsageError("the topology's replicas share one store: it needs PostgreSQL",
                                 fix="set NB2PROD_STORE_URL=postgresql+psycopg://USER:PASSWORD@HOST/DB")
            self.warnings.append("the store is SQLite: fine for a try on one machine, but replicas contend for its one "
                                 "write lock; use PostgreSQL (NB2PROD_STORE_URL) as a cluster would")
        self.run_dir = settings.home / "topology" / name
        self.files = NginxFiles(self.run_dir / "nginx")
        self.port = port
        self.nginx: subprocess.Popen[bytes] | None = None
        self.pool: dict[str, list[Replica]] = {}
        self.plan: RoutePlan | None = None
        self.restarts = 0
        self.reloads = 0
        self._conf = ""
        self._lock = threading.Lock()
        self._env: ReplicaEnv | None = None
        self._token: ServiceToken | None = None
        self._dead_since: dict[tuple[str, int], float] = {}
        self._backoff: dict[tuple[str, int], float] = {}

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> TopologyInfo:
        """Start the replicas and nginx; return once the gateway answers ``/readyz``."""
        from nb2prod.package.service_token import ensure_token

        binary = find_nginx()
        if running_topologies(self.settings, self.name):
            raise ConflictError(f"a topology of {self.name!r} is already running", fix=f"stop it first: nb2prod serve --stop {self.name}")
        if self.port is None:
            self.port = free_port("127.0.0.1", GATEWAY_PORT)
        elif not port_free("127.0.0.1", self.port):
            raise ConflictError(f"port {self.port} is in use", fix="pick another with --port N")
        token = ensure_token(self.settings.home)
        self._token = token
        self._env = ReplicaEnv(store_url=self.store_url, token=token.value, bentoml_home=self.settings.resolved_bentoml_home,
                               protect_predict=self.protect_predict)
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.files.prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        try:
            self.reconcile()
            self.nginx = subprocess.Popen(self.files.command(binary), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True)
            self._write_state()
            self._wait_gateway()
        except BaseException:
            self.stop()
            raise
        return self.info()

    def _wait_gateway(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.nginx is not None and self.nginx.poll() is not None:
                raise ServiceError(f"nginx exited with code {self.nginx.returncode}", fix=f"see {self.files.error_log}")
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise ServiceError(f"the gateway on {self.url} did not answer /readyz within 30 s", fix=f"see {self.files.error_log}")

    def info(self) -> TopologyInfo:
        token_usage = self._token
        return TopologyInfo(
            name=self.name, url=self.url, store_url=_redacted(self.store_url),
            replicas=[r.to_dict() for group in self.pool.values() for r in group], protect_predict=self.protect_predict,
            token_usage=token_usage.usage.replace("to /feedback", "to /predict, /feedback") if token_usage and self.protect_predict
            else (token_usage.usage if token_usage else ""),
            warnings=list(self.warnings),
        )

    def stop(self) -> None:
        """Stop nginx, then every replica (each drains its audit log into the store)."""
        with self._lock:
            if self.nginx is not None and self.nginx.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self.nginx.send_signal(signal.SIGQUIT)  # graceful: requests in flight finish
                try:
                    self.nginx.wait(10)
                except subprocess.TimeoutExpired:
                    self.nginx.kill()
                    self.nginx.wait(5)
            everyone = [r for group in self.pool.values() for r in group]
            with ThreadPoolExecutor(max_workers=max(1, len(everyone))) as executor:
                list(executor.map(lambda r: r.stop(), everyone))
            from nb2prod.runtime.audit_writer import replay_spool

            for replica in everyone:  # a replica killed at the end of its grace period leaves its last rows spooled
                try:
                    replay_spool(replica.spool, self.store)
                except Exception as exc:  # the rows stay on disk; the next start of this replica replays them
                    log.warning("spool of replica %d of %s not drained: %s", replica.index, replica.version_id, exc)
            self.pool = {}
            (self.run_dir / STATE_FILE).unlink(missing_ok=True)

    def __enter__(self) -> Topology:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- keeping it in line with the store ----------------------------------------------------
    def reconcile(self) -> bool:
        """Replicas and gateway for the store's current traffic; True when nginx's configuration changed."""
        with self._lock:
            traffic = self.store.registry.traffic(self.name)
            plan = route_plan(traffic, self.store.registry.versions(self.name))
            wanted = {v: (self.replicas if v == traffic.live else 1) for v in plan.versions}
            self._replace_dead(wanted)
            started = self._start_missing(wanted)
            for replica in started:
                replica.wait_ready(self.ready_timeout_s)
            assert self.port is not None
            ports = {v: [r.port for r in self.pool[v][: wanted[v]]] for v in wanted}
            conf = render_nginx(plan, ports, port=self.port, files=self.files, token=self._env.token if self._env else None,
                                protect_predict=self.protect_predict)
            changed = conf != self._conf
            if changed:
                self.files.conf.parent.mkdir(parents=True, exist_ok=True)
                self.files.conf.write_text(conf, encoding="utf-8")
                os.chmod(self.files.conf, 0o600)  # it holds the token when /predict is protected
                nginx_check(find_nginx(), self.files)
                self._conf = conf
                if self.nginx is not None and self.nginx.poll() is None:
                    self.nginx.send_signal(signal.SIGHUP)  # reload: new workers take the plan, old ones finish their requests
                    self.reloads += 1
                    log.info("gateway of %s reloaded: %s", self.name, _describe(plan))
            self.plan = plan
            self._retire(wanted)
            if started or changed:
                self._write_state()
            return changed

    def _replace_dead(self, wanted: dict[str, int]) -> None:
        from nb2prod.runtime.audit_writer import replay_spool

        assert self._env is not None
        for version_id, group in self.pool.items():
            for i, replica in enumerate(group):
                if replica.alive() or version_id not in wanted:
                    continue
                slot = (version_id, replica.index)
                if slot not in self._dead_since:
                    # Rows the replica answered but had not yet committed sit in its spool: into the store now.
                    replayed = replay_spool(replica.spool, self.store)
                    log.warning("replica %d of %s exited (code %s); %d spooled rows replayed", replica.index, version_id,
                                replica.process.returncode, replayed)
                    # one that dies soon after its start is crash-looping: wait longer before each new try (up to a minute)
                    quick = time.time() - replica.started_at < CRASH_LOOP_S
                    self._backoff[slot] = min(60.0, 2 * max(0.5, self._backoff.get(slot, 0.0))) if quick else 0.0
                    self._dead_since[slot] = time.monotonic()
                if time.monotonic() - self._dead_since[slot] < self._backoff[slot]:
                    continue
                del self._dead_since[slot]
                log.warning("restarting replica %d of %s on port %d", replica.index, version_id, replica.port)
                group[i] = start_replica(self.store.registry.get(version_id), replica.index, replica.port, self.run_dir, self._env)
                self.restarts += 1

    def _start_missing(self, wanted: dict[str, int]) -> list[Replica]:
        assert self._env is not None
        started: list[Replica] = []
        taken = {r.port for group in self.pool.values() for r in group}
        for version_id, count in wanted.items():
            group = self.pool.setdefault(version_id, [])
            record = self.store.registry.get(version_id)
            while len(group) < count:
                port = free_port("127.0.0.1", 3100)
                while port in taken or port == self.port:
                    port = free_port("127.0.0.1", port + 1)
                taken.add(port)
                replica = start_replica(record, len(group), port, self.run_dir, self._env)
                group.append(replica)
                started.append(replica)
        return started

    def _retire(self, wanted: dict[str, int]) -> None:
        for version_id, count in wanted.items():  # a live version demoted to a single-replica arm keeps one
            for replica in self.pool.get(version_id, [])[count:]:
                replica.stop()
            self.pool[version_id] = self.pool.get(version_id, [])[:count]
        gone = [v for v in self.pool if v not in wanted]
        for version_id in gone:
            for replica in self.pool.pop(version_id):
                replica.stop()
            log.info("replicas of %s stopped: no longer routed", version_id)

    def watch(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """Reconcile every ``poll_s`` until ``stop`` is set (errors are logged, the last good state keeps serving)."""
        last_error = ""
        while not stop.wait(poll_s):
            try:
                self.reconcile()
                last_error = ""
            except Exception as exc:  # the store may be briefly unreachable; a bad plan must not stop the gateway
                if str(exc) != last_error:
                    log.warning("topology of %s not reconciled: %s", self.name, exc)
                last_error = str(exc)

    def replicas_of(self, version_id: str) -> list[Replica]:
        return list(self.pool.get(version_id, []))

    def _write_state(self) -> None:
        state = {**self.info().to_dict(), "supervisor_pid": os.getpid(),
                 "nginx_pid": None if self.nginx is None else self.nginx.pid}
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / STATE_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")


def _describe(plan: RoutePlan) -> str:
    parts = [f"{b.arm} {b.version_id} {b.percent:g}%" for b in plan.backends]
    if plan.mirror is not None:
        parts.append(f"shadow {plan.mirror.version_id} {plan.mirror.percent:g}%")
    return ", ".join(parts)


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def running_topologies(settings: Settings, name: str | None = None) -> list[dict[str, Any]]:
    """The state of every topology of this workspace whose supervisor is alive (stale files are removed)."""
    found = []
    root = settings.home / "topology"
    for path in sorted(root.glob(f"{name or '*'}/{STATE_FILE}")):
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if _alive(state.get("supervisor_pid")) or _alive(state.get("nginx_pid")):
            found.append(state)
        else:
            path.unlink(missing_ok=True)
    return found


def stop_topologies(settings: Settings, name: str | None = None, timeout_s: float = 60.0) -> list[str]:
    """Stop running topologies (all of the workspace's, or ``name``'s): the supervisor stops its processes."""
    stopped = []
    for state in running_topologies(settings, name):
        supervisor = int(state.get("supervisor_pid") or 0)
        if supervisor == os.getpid():
            raise UsageError("this process runs the topology", fix="call Topology.stop() instead")
        if _alive(supervisor):
            with contextlib.suppress(ProcessLookupError):
                os.kill(supervisor, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and _alive(supervisor):
                time.sleep(0.2)
        if _alive(supervisor) or _alive(state.get("nginx_pid")):  # the supervisor is gone or stuck: stop what it started
            for pid in [state.get("nginx_pid"), *(r.get("pid") for r in state.get("replicas", []))]:
                if _alive(pid):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(supervisor, signal.SIGKILL)
        (settings.home / "topology" / state["name"] / STATE_FILE).unlink(missing_ok=True)
        stopped.append(state["name"])
    return stopped
