"""One ``bentoml serve`` process per replica of a version, each behind the gateway on its own 127.0.0.1 port.

A replica serves its version's Bento (or, for a version without one, the deployment folder's
``service.py``: the same code and files the Bento packs) with ``NB2PROD_ROUTING=gateway``, the
shared store's URL, the workspace's service token and its own audit spool folder: replicas of
one version never share a spool, so one replica's crash leaves segments only its own restart (or
the supervisor's replay) drains.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from nb2prod.errors import NotFoundError, ServiceError
from nb2prod.models import VersionRecord

__all__ = ["Replica", "ReplicaEnv", "start_replica"]


@dataclass(frozen=True)
class ReplicaEnv:
    """What every replica of a topology is started with."""

    store_url: str
    token: str
    bentoml_home: Path
    protect_predict: bool = False
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Replica:
    """A running (or exited) replica: its version, slot, port, process, log and spool."""

    version_id: str
    index: int
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    spool: Path
    started_at: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def ready(self, timeout: float = 1.0) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=timeout) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.alive():
                raise ServiceError(f"replica {self.index} of {self.version_id} exited with code {self.process.returncode}",
                                   fix=f"see {self.log}")
            if self.ready(0.5):
                return
            time.sleep(0.2)
        raise ServiceError(f"replica {self.index} of {self.version_id} was not ready within {timeout_s:.0f}s", fix=f"see {self.log}")

    def _tree(self) -> list[object]:
        """The arbiter and its workers (BentoML starts workers in their own process groups)."""
        import psutil  # BentoML's own dependency: replicas exist only where it is installed

        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM (BentoML drains and flushes the audit log), then SIGKILL whatever is left after ``grace_s``."""
        import psutil

        procs = self._tree()
        if self.alive():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace_s)
        _, left = psutil.wait_procs(procs, timeout=2)
        for proc in left:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)

    def kill(self) -> None:
        """SIGKILL the replica's whole process tree at once: a crash, as the replica-kill test and benchmark need."""
        import psutil

        for proc in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGKILL)  # type: ignore[attr-defined]
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)

    def to_dict(self) -> dict[str, object]:
        return {"version_id": self.version_id, "index": self.index, "port": self.port, "pid": self.pid,
                "url": self.url, "log": str(self.log), "spool": str(self.spool)}


def _target(record: VersionRecord) -> tuple[str, dict[str, str]]:
    """What ``bentoml serve`` runs: the Bento when there is one, else the folder's generated service."""
    folder = Path(record.deployment_dir or "")
    if record.bento_tag:
        return record.bento_tag, {}
    service = folder / "service.py"
    if not service.is_file():
        raise NotFoundError(f"{record.version_id} has neither a Bento nor {service}", fix=f"deploy it again: nb2prod deploy ({record.name})")
    import re

    found = re.search(r"^class (\w+)\b", service.read_text(encoding="utf-8"), flags=re.MULTILINE)
    if found is None:
        raise NotFoundError(f"{service} defines no service class", fix="deploy the version again")
    return f"service:{found.group(1)}", {"NB2PROD_SERVE_FROM_FOLDER": "1"}


def start_replica(record: VersionRecord, index: int, port: int, run_dir: Path, env: ReplicaEnv) -> Replica:
    """Start replica ``index`` of ``record`` on ``127.0.0.1:port`` (already checked free); do not wait for it."""
    from nb2prod.adapters.bento import bento_env, serve_command

    folder = Path(record.deployment_dir or "")
    if not folder.is_dir():
        raise NotFoundError(f"deployment folder of {record.version_id} is missing: {folder}", fix=f"deploy {record.name} again")
    target, extra = _target(record)
    spool = run_dir / "spool" / record.version_id / str(index)
    spool.mkdir(parents=True, exist_ok=True)
    log = run_dir / "logs" / f"{record.version_id}-{index}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    variables = {
        **extra,
        **env.extra,
        "NB2PROD_ROUTING": "gateway",
        "NB2PROD_STORE_URL": env.store_url,
        "NB2PROD_SERVICE_TOKEN": env.token,
        "NB2PROD_SPOOL_DIR": str(spool),
    }
    if env.protect_predict:
        variables["NB2PROD_PROTECT_PREDICT"] = "1"
    copier = subprocess.Popen([sys.executable, "-m", "nb2prod.package.service_log", str(log)], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    assert copier.stdin is not None
    try:
        process = subprocess.Popen(serve_command(target, host="127.0.0.1", port=port), stdout=copier.stdin, stderr=subprocess.STDOUT,
                                   env=bento_env(env.bentoml_home, variables), cwd=str(folder), start_new_session=True)
    except OSError:
        copier.kill()
        raise
    finally:
        copier.stdin.close()  # the replica holds the pipe; the copier ends with it
    return Replica(record.version_id, index, port, process, log, spool)
