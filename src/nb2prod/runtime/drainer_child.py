"""The serving side of the drainer process: start it, watch it, restart it, read how far it got.

A served service (the generated ``service.py``) copies the spool into the store from a child process (see
:mod:`nb2prod.runtime.drainer`), so the store work does not compete for the serving process's GIL; an
in-process runtime (a notebook, tests) keeps it in a thread. ``NB2PROD_AUDIT_DRAINER=thread|process``
chooses for either.
The child is started and stopped with the audit writer, so every topology (``nb2prod serve``, the
local replicas, a Kubernetes pod) gets one drainer per serving process without its own wiring.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from nb2prod.runtime.spool import Segment, read_progress

__all__ = ["DRAINER_MODES", "DrainerChild", "drainer_mode"]

log = logging.getLogger("nb2prod.runtime")

DRAINER_MODES = ("thread", "process")
RESTART_DELAY_S = 1.0


def drainer_mode(env: dict[str, str] | None = None, *, default: str = "thread") -> str:
    """``NB2PROD_AUDIT_DRAINER``: ``thread`` or ``process`` (unset: ``default``); anything else is refused in one line."""
    from nb2prod.errors import UsageError

    value = ((os.environ if env is None else env).get("NB2PROD_AUDIT_DRAINER") or default).strip().lower()
    if value not in DRAINER_MODES:
        raise UsageError(f"NB2PROD_AUDIT_DRAINER={value!r} is not a drainer mode", fix="set it to 'thread' or 'process'")
    return value


class DrainerChild:
    """One drainer process for this process's spool folder, restarted when it dies."""

    def __init__(self, folder: Path, store_url: str, *, interval_s: float = 0.05) -> None:
        self.folder = folder
        self.store_url = store_url
        self.interval_s = interval_s
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self.exit_code: int | None = None
        self._dead_since: float | None = None
        self._gone: dict[Path, int] = {}  # released segments: records, until their file is deleted
        self.finished = 0  # records of segments the drainer finished and deleted

    def start(self) -> None:
        cmd = [sys.executable, "-m", "nb2prod.runtime.drainer", str(self.folder), self.store_url,
               "--parent", str(os.getpid()), "--interval", str(self.interval_s)]
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def watch(self) -> str | None:
        """Restart a dead drainer (after a short delay); the reason while it is down, else None."""
        if self.process is None or self.alive:
            return None
        self.exit_code = self.process.returncode
        now = time.monotonic()
        if self._dead_since is None:
            self._dead_since = now
            log.error("audit drainer exited (code %s); rows stay spooled, restarting it", self.exit_code)
        if now - self._dead_since >= RESTART_DELAY_S:
            self._dead_since = None
            self.restarts += 1
            self.start()
            return None
        return f"audit drainer exited (code {self.exit_code}); restarting"

    def release(self, segments: list[Segment]) -> None:
        for segment in segments:
            self._gone[segment.path] = segment.records

    def drained(self, live: list[Segment]) -> int:
        """Records of this process's segments already in the store (read from the drainer's progress files)."""
        for path, records in list(self._gone.items()):
            if not path.exists():
                self.finished += records
                del self._gone[path]
        total = self.finished
        for path in self._gone:
            total += read_progress(path)[1]
        for segment in live:
            offset, records = read_progress(segment.path)
            segment.offset = offset
            total += records
        return total

    def stop(self, timeout: float) -> None:
        """SIGTERM: the drainer makes a last pass (this process's segments are unlocked by now) and exits."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(5)
        self.exit_code = self.process.returncode

    def snapshot(self) -> dict[str, Any]:
        return {
            "mode": "process",
            "pid": None if self.process is None else self.process.pid,
            "alive": self.alive,
            "restarts": self.restarts,
            "exit_code": self.exit_code,
        }
