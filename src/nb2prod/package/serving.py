"""Start a built Bento on 127.0.0.1 in the background, wait for ``/readyz``, stop it again.

The process runs in its own session (so stopping it stops its workers); its pid, port and log
are recorded in ``<deployment folder>/serve.json``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from nb2prod.errors import ConflictError, NotFoundError, ServiceError, UsageError
from nb2prod.models import ServeInfo, VersionRecord
from nb2prod.settings import Settings

__all__ = ["DEFAULT_PORT", "free_port", "port_free", "running_services", "serve_version", "stop_services"]

DEFAULT_PORT = 3000
_SERVE_FILE = "serve.json"


def port_free(host: str, port: int) -> bool:
    """True when nothing listens on ``host:port`` and we may bind it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.3)
        if probe.connect_ex((host, port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the server will: after a kill -9 the old connections sit in TIME_WAIT for a minute,
        # which a plain bind reports as "in use" although the server can bind the port right away.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str, start: int = DEFAULT_PORT, tries: int = 200) -> int:
    for port in range(start, start + tries):
        if port_free(host, port):
            return port
    raise ConflictError(f"no free port on {host} in {start}-{start + tries - 1}", fix="stop some services (`nb2prod stop`) or pass --port")


def _alive(pid: int) -> bool:
    """The process exists and is a BentoML server (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        try:
            os.kill(pid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    return "bentoml" in cmdline and "serve" in cmdline


def _ready(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


def _settle(log: Path, limit_s: float = 2.0) -> None:
    """Wait (bounded) until the log copier has written the exited service's last lines."""
    deadline = time.monotonic() + limit_s
    size = -1
    while time.monotonic() < deadline:
        current = log.stat().st_size if log.exists() else 0
        if current == size:
            return
        size = current
        time.sleep(0.1)


def _last_error(log: Path) -> str:
    for line in reversed(_tail(log, 80).splitlines()):
        if any(word in line for word in ("Error", "error", "Exception", "Traceback")):
            return line.strip()[:240]
    return "see the log"


def _read_info(folder: Path) -> ServeInfo | None:
    path = folder / _SERVE_FILE
    if not path.exists():
        return None
    try:
        return ServeInfo.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError):
        path.unlink(missing_ok=True)
        return None


def serve_version(
    settings: Settings,
    record: VersionRecord,
    *,
    port: int | None = None,
    host: str | None = None,
    timeout_s: float = 180.0,
) -> ServeInfo:
    """Serve ``record``'s Bento in the background; return once ``/readyz`` answers 200.

    Already running → the running service. An explicit ``port`` in use → :class:`ConflictError`.
    """
    host = host or settings.host
    if not record.bento_tag or not record.deployment_dir:
        raise NotFoundError(f"{record.version_id} has no built Bento", fix="deploy it again with %deploy or `nb2prod deploy`")
    folder = Path(record.deployment_dir)
    if not folder.is_dir():
        raise NotFoundError(f"deployment folder {folder} is missing", fix=f"redeploy {record.name}")
    current = _read_info(folder)
    if current is not None and _alive(current.pid):
        if _ready(current.url):
            return current
        _stop_info(folder, current)
    if port is not None and not (0 < port < 65536):
        raise UsageError(f"port {port} is out of range", fix="use a port between 1024 and 65535")
    if port is None:
        port = free_port(host)
    elif not port_free(host, port):
        raise ConflictError(f"port {port} on {host} is in use", fix="pick another with --port N, or stop what uses it (`nb2prod stop`)")
    return _wait_ready(folder, *start_service(settings, record, host=host, port=port), timeout_s=timeout_s)


def start_service(
    settings: Settings, record: VersionRecord, *, host: str, port: int, service_class: str | None = None
) -> tuple[subprocess.Popen[bytes], ServeInfo]:
    """Start serving ``record``'s Bento on ``host:port`` (already checked free); do not wait.

    With ``service_class``, serve the deployment folder's ``service.py`` instead (the same code and
    files the Bento packs): ``%deploy`` does this so serving starts while the Bento still builds.
    """
    from nb2prod.adapters.bento import bento_env, serve_command

    folder = Path(record.deployment_dir or "")
    url = f"http://{host}:{port}"
    log = folder / "serve.log"
    from nb2prod.package.service_token import ensure_token

    # Secure by default: a local service always has a token (the workspace's, created on first use).
    token = ensure_token(settings.home)
    extra = {"NB2PROD_STORE_URL": settings.resolved_store_url, "NB2PROD_SERVICE_TOKEN": token.value}
    if service_class is not None:
        extra["NB2PROD_SERVE_FROM_FOLDER"] = "1"
    env = bento_env(settings.resolved_bentoml_home, extra)
    target = f"service:{service_class}" if service_class is not None else record.bento_tag or ""
    # The service's output goes through a rotating copier, never straight into an unbounded file.
    copier = subprocess.Popen(
        [sys.executable, "-m", "nb2prod.package.service_log", str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert copier.stdin is not None
    try:
        process = subprocess.Popen(
            serve_command(target, host=host, port=port),
            stdout=copier.stdin,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(folder),
            start_new_session=True,
        )
    except OSError:
        copier.kill()
        raise
    finally:
        copier.stdin.close()  # the service holds the pipe now; the copier ends when the service does
    info = ServeInfo(
        name=record.name,
        version_id=record.version_id,
        url=url,
        port=port,
        pid=process.pid,
        bento_tag=record.bento_tag,
        started_at=time.time(),
        log=str(log),
        auth=token.usage,
    )
    (folder / _SERVE_FILE).write_text(json.dumps(info.to_dict(), indent=2), encoding="utf-8")
    return process, info


def wait_ready(settings: Settings, record: VersionRecord, process: subprocess.Popen[bytes], info: ServeInfo, *, timeout_s: float = 180.0) -> ServeInfo:
    """Wait until a service started by :func:`start_service` answers ``/readyz``."""
    return _wait_ready(Path(record.deployment_dir or ""), process, info, timeout_s=timeout_s)


def _wait_ready(folder: Path, process: subprocess.Popen[bytes], info: ServeInfo, *, timeout_s: float) -> ServeInfo:
    log = Path(info.log or folder / "serve.log")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            (folder / _SERVE_FILE).unlink(missing_ok=True)
            _settle(log)
            if "address already in use" in _tail(log).lower():
                raise ConflictError(f"port {info.port} is in use", fix="pick another with --port N")
            raise ServiceError(
                f"the service for {info.version_id} exited with code {process.returncode}: {_last_error(log)}", fix=f"see {log}"
            )
        if _ready(info.url, timeout=0.5):
            return info
        time.sleep(0.2)
    _stop_info(folder, info)
    raise ServiceError(f"the service for {info.version_id} was not ready within {timeout_s:.0f}s", fix=f"see {log}")


def _stop_info(folder: Path, info: ServeInfo, grace_s: float = 10.0) -> None:
    if _alive(info.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(info.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _alive(info.pid):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(info.pid, os.WNOHANG)
            time.sleep(0.1)
        if _alive(info.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(info.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(info.pid, 0)
    (folder / _SERVE_FILE).unlink(missing_ok=True)


def running_services(settings: Settings) -> list[tuple[Path, ServeInfo]]:
    """Services started from this workspace whose process is still alive (stale records are removed)."""
    found: list[tuple[Path, ServeInfo]] = []
    root = settings.deployments_dir
    if not root.is_dir():
        return found
    for path in sorted(root.glob(f"*/*/{_SERVE_FILE}")):
        info = _read_info(path.parent)
        if info is None:
            continue
        if _alive(info.pid):
            found.append((path.parent, info))
        else:
            path.unlink(missing_ok=True)
    return found


def stop_services(settings: Settings, *, name: str | None = None, version_id: str | None = None) -> list[ServeInfo]:
    """Stop the services of one version, one deployment, or (no arguments) all of this workspace's."""
    stopped: list[ServeInfo] = []
    for folder, info in running_services(settings):
        if name is not None and info.name != name:
            continue
        if version_id is not None and info.version_id != version_id:
            continue
        _stop_info(folder, info)
        stopped.append(ServeInfo.from_dict({**info.to_dict(), "running": False}))
    return stopped
