"""`nb2prod serve`'s own start path: after a kill -9 the same port serves again at once, and the log rotates."""

from __future__ import annotations

import contextlib
import signal
import subprocess
from pathlib import Path

import httpx
import psutil
import pytest
from runtime_folder import build_deployment, render_service, sample_rows
from service_proc import free_port

from nb2prod.models import VersionRecord
from nb2prod.package.serving import port_free, start_service, wait_ready
from nb2prod.settings import Settings


def _stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal the server and every worker (BentoML workers run in process groups of their own)."""
    try:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.send_signal(sig)
    process.wait(30)
    _, alive = psutil.wait_procs(tree, timeout=15)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()


@pytest.mark.slow
def test_a_killed_service_restarts_on_its_port_and_keeps_the_previous_log(tmp_path: Path) -> None:
    folder = build_deployment(tmp_path / "deployments", timeout_ms=2000)
    render_service(folder)
    settings = Settings(home=tmp_path, store_url=f"sqlite:///{tmp_path / 'nb2prod.db'}", bentoml_home=tmp_path / "bentoml")
    record = VersionRecord(version_id="credit-v1", name="credit", created_at="2026-01-01", model_hash="-", deployment_dir=str(folder))
    port = free_port()
    process, info = start_service(settings, record, host="127.0.0.1", port=port, service_class="CreditService")
    try:
        wait_ready(settings, record, process, info, timeout_s=120)
        row = sample_rows(folder)[0]
        with httpx.Client(timeout=30) as http:  # open connections the kill leaves in TIME_WAIT
            assert all(http.post(f"{info.url}/predict", json={"features": row}).status_code == 200 for _ in range(5))
    finally:
        _stop(process, signal.SIGKILL)
    assert port_free("127.0.0.1", port)  # was "port in use" for a minute
    process, info = start_service(settings, record, host="127.0.0.1", port=port, service_class="CreditService")
    try:
        wait_ready(settings, record, process, info, timeout_s=120)
        token = (tmp_path / "service-token").read_text().strip()  # created by the first start: secure by default
        assert info.auth and "service-token" in info.auth and token not in info.auth  # says how, never the secret
        assert httpx.post(f"{info.url}/status", json={}, timeout=30).status_code == 401
        assert httpx.post(f"{info.url}/status", json={}, headers={"authorization": f"Bearer {token}"}, timeout=30).status_code == 200
    finally:
        _stop(process)
    log = Path(info.log or "")
    assert log.name == "serve.log" and "Starting production" in log.read_text()
    assert "Starting production" in (log.parent / "serve.log.1").read_text()  # the killed run's log, rolled over


def test_the_service_log_rotates_at_its_size_limit(tmp_path: Path) -> None:
    import io

    from nb2prod.package.service_log import copy_rotating

    log = tmp_path / "serve.log"
    lines = b"".join(f"line {i:05d} {'x' * 80}\n".encode() for i in range(2000))
    assert copy_rotating(io.BytesIO(lines), log, max_bytes=20_000, backups=2) == 2000
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["serve.log", "serve.log.1", "serve.log.2"]
    assert all(f.stat().st_size <= 20_000 for f in files)
    assert log.read_text().splitlines()[-1].startswith("line 01999")
