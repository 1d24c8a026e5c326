"""Start and stop a generated guarded service with `bentoml serve` on 127.0.0.1 (shared by tests and benchmarks)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from runtime_folder import render_service  # tests/runtime is on sys.path (rootdir import mode)

BENTOML = str(Path(sys.executable).parent / "bentoml")
SERVICE_TOKEN = "s3rvice-t0ken"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A `bentoml serve` of a rendered deployment folder on 127.0.0.1."""

    folder: Path
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    store_url: str

    def tree(self) -> list[psutil.Process]:
        """The serving process and its descendants (BentoML workers run in their own process groups)."""
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill9(self) -> None:
        """kill -9 the whole serving process tree (arbiter and workers) at once."""
        for proc in self.tree():
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM (BentoML drains and runs shutdown hooks), then SIGKILL whatever is left."""
        procs = self.tree()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(30)
        _, alive = psutil.wait_procs(procs, timeout=10)
        for proc in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()
        if self.process.poll() is None:
            self.process.wait(10)


def serve(folder: Path, home: Path, store_url: str, *, timeout_s: float = 180.0, extra_env: dict[str, str] | None = None) -> Served:
    """Render the guarded service into ``folder``, `bentoml serve` it and wait until /readyz answers 200."""
    render_service(folder)
    return start(folder, "service:CreditService", home, store_url, timeout_s=timeout_s, extra_env=extra_env)


def start(
    folder: Path, target: str, home: Path, store_url: str, *, timeout_s: float = 180.0, extra_env: dict[str, str] | None = None
) -> Served:
    """`bentoml serve TARGET` in ``folder`` on a free 127.0.0.1 port; return once /readyz answers 200."""
    port = free_port()
    log = folder.parent / f"serve-{port}.log"
    env = {
        **os.environ,
        "BENTOML_HOME": str(home / "bentoml"),
        "BENTOML_DO_NOT_TRACK": "True",
        "NB2PROD_HOME": str(home),
        "NB2PROD_STORE_URL": store_url,
        **(extra_env or {}),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [BENTOML, "serve", target, "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(folder=folder, url=f"http://127.0.0.1:{port}", process=process, log=log, store_url=store_url)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"bentoml serve {target} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{served.url}/readyz", timeout=2).status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    served.stop()
    raise RuntimeError(f"bentoml serve {target} not ready within {timeout_s}s:\n{log.read_text()[-3000:]}")
