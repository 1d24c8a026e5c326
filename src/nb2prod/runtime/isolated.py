"""A version's Predictor in a child process: the shadow's CPU, memory and crashes stay off the live process.

The shadowing version runs in its own process at a lower scheduling priority: its batches no
longer hold the live process's GIL, on a busy machine the kernel gives the live path the CPU
first, and a shadow model that hangs, leaks or segfaults costs shadow results (recorded as
``shadow_error``), never a live answer. Rows go over a pipe as plain dicts; decisions, scores and
probabilities come back (no transformed matrix: explanations are the live version's). A batch
that overruns its timeout is given up on ("not compared") but the child is left to finish it —
on a busy machine a niced child is merely slow, and killing it would cost a fresh interpreter's
imports and model load; its late answer is read and dropped before the next batch. A child that
dies, or still owes answers after ``HANG_AFTER_S``, is killed and started again.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from nb2prod.runtime.predictor import Outputs, error_text

__all__ = ["IsolatedPredictor", "ShadowProcessError"]

log = logging.getLogger("nb2prod.runtime")
START_TIMEOUT_S = 180.0  # imports + model load in a fresh interpreter, on a loaded machine
CHILD_NICENESS = 10  # the live process gets the CPU first
RESTART_AFTER_S = 5.0  # a child that died is started again no sooner than this (no crash loop)
HANG_AFTER_S = 30.0  # a child still busy with a given-up batch this long is hung: killed


class ShadowProcessError(RuntimeError):
    """The child died or overran its timeout: the whole batch failed, not its rows one by one."""

    timed_out: bool = False  # overran its deadline (not compared) rather than failed


def _child(conn: Connection, folder: str, version_id: str, niceness: int) -> None:
    """The child's loop: load the version, then answer ``rows`` messages until ``None`` or EOF.

    It ignores SIGINT/SIGTERM sent to the service's process group: the parent finishes its last
    shadow batch on shutdown, then stops it (and if the parent dies, the pipe's EOF ends it).
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    with contextlib.suppress(OSError):  # not permitted here: run at the same priority
        os.nice(niceness)
    try:
        from nb2prod.runtime.loading import limit_math_threads
        from nb2prod.runtime.traffic import load_version_predictor

        limit_math_threads()
        predictor = load_version_predictor(folder, version_id)
    except Exception as exc:
        conn.send(("error", error_text(exc)))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            rows = conn.recv()
        except (EOFError, OSError):
            return
        if rows is None:
            return
        try:
            out = predictor.predict_rows(rows)
            conn.send(("ok", (out.decisions, out.scores, out.probabilities)))
        except Exception as exc:
            conn.send(("error", error_text(exc)))


class IsolatedPredictor:
    """``predict_rows`` answered by the version loaded in a child process (one batch at a time).

    Raises like a Predictor: ``RuntimeError`` with the child's error text when the model raises;
    :class:`ShadowProcessError` when a batch overruns ``timeout_s`` (the child is killed) or the
    child is down. A dead child is started again in the background (at most once per
    ``RESTART_AFTER_S``), so a batch never waits for a restart. Construction waits until the
    child has loaded the version, and raises its load error.
    """

    def __init__(self, folder: str, version_id: str, *, timeout_s: float = 30.0) -> None:
        self.folder = folder
        self.label = version_id
        self.timeout_s = timeout_s
        self.restarts = 0
        self._lock = threading.Lock()
        self._died_at: float | None = None
        self._restarting: threading.Thread | None = None
        self._closed = False
        self._owed = 0  # answers the child still owes for batches given up on (timed out)
        self._owed_since = 0.0
        process, conn, pid = self._spawn()
        self._process: Any = process
        self._conn: Connection | None = conn
        self.pid: int | None = pid

    def _spawn(self) -> tuple[Any, Connection, int]:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded server process
        parent, child = context.Pipe()
        process = context.Process(
            target=_child, args=(child, self.folder, self.label, CHILD_NICENESS), name=f"nb2prod-shadow-{self.label}", daemon=True
        )
        process.start()
        child.close()
        try:
            if not parent.poll(START_TIMEOUT_S):
                raise ShadowProcessError(f"the shadow process for {self.label} did not load it within {START_TIMEOUT_S:g} s")
            status, payload = parent.recv()
        except (EOFError, OSError) as exc:
            _stop(process, parent)
            raise ShadowProcessError(f"the shadow process for {self.label} died while loading it (exit code {process.exitcode})") from exc
        except BaseException:
            _stop(process, parent)
            raise
        if status != "ready":
            _stop(process, parent)
            raise RuntimeError(f"the shadow process could not load {self.label}: {payload}")
        return process, parent, int(payload)

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def predict_rows(self, rows: Sequence[dict[str, Any]]) -> Outputs:
        with self._lock:
            conn = self._conn
            if conn is None or not self.alive:
                self._kill()
                self._restart_in_background()
                raise ShadowProcessError(f"the shadow process of {self.label} is down (being restarted)")
            try:
                self._collect_owed(conn)
                conn.send(list(rows))
                if not conn.poll(self.timeout_s):
                    if not self._owed:
                        self._owed_since = time.monotonic()
                    self._owed += 1  # the child finishes it; the answer is dropped before the next batch
                    late = ShadowProcessError(f"{self.label} gave no answer within {self.timeout_s:g} s")
                    late.timed_out = True  # recorded as "not compared", never as a candidate error
                    raise late
                status, payload = conn.recv()
            except (EOFError, OSError) as exc:
                code = self._process.exitcode if self._process is not None else None
                self._kill()
                raise ShadowProcessError(f"the shadow process of {self.label} died (exit code {code})") from exc
        if status != "ok":
            raise RuntimeError(payload)
        decisions, scores, probabilities = payload
        return Outputs(decisions=decisions, scores=scores, probabilities=probabilities)

    def _collect_owed(self, conn: Connection) -> None:
        """Read and drop the late answers to batches given up on (caller holds the lock)."""
        while self._owed:
            if not conn.poll(self.timeout_s):
                if time.monotonic() - self._owed_since > HANG_AFTER_S:
                    self._kill()
                    self._restart_in_background()
                    hung = ShadowProcessError(f"{self.label} gave no answer for {HANG_AFTER_S:g} s; its process was stopped")
                    hung.timed_out = True
                    raise hung
                busy = ShadowProcessError(f"{self.label} is still computing an earlier batch (over {self.timeout_s:g} s)")
                busy.timed_out = True
                raise busy
            conn.recv()
            self._owed -= 1

    def _restart_in_background(self) -> None:
        """Start a new child off the shadow worker's path (caller holds the lock)."""
        if self._closed or (self._restarting is not None and self._restarting.is_alive()):
            return
        if self._died_at is not None and time.monotonic() - self._died_at < RESTART_AFTER_S:
            return
        self._restarting = threading.Thread(target=self._restart, name=f"nb2prod-shadow-restart-{self.label}", daemon=True)
        self._restarting.start()

    def _restart(self) -> None:
        log.warning("restarting the shadow process of %s", self.label)
        try:
            process, conn, pid = self._spawn()
        except Exception as exc:
            log.error("the shadow process of %s did not restart: %s", self.label, error_text(exc))
            self._died_at = time.monotonic()
            return
        with self._lock:
            if self._closed:
                _stop(process, conn)
                return
            self._process, self._conn, self.pid = process, conn, pid
            self.restarts += 1

    def _kill(self) -> None:
        if self._process is not None and self._conn is not None:
            _stop(self._process, self._conn, graceful=False)
            self._died_at = time.monotonic()
        self._process = self._conn = None
        self._owed = 0

    def close(self) -> None:
        """Stop the child (politely, then by force)."""
        with self._lock:
            self._closed = True
            if self._process is not None and self._conn is not None:
                _stop(self._process, self._conn)
            self._process = self._conn = None
        restarting = self._restarting
        if restarting is not None:
            restarting.join(START_TIMEOUT_S)


def _stop(process: Any, conn: Connection, *, graceful: bool = True) -> None:
    if graceful and process.is_alive():
        with contextlib.suppress(OSError, ValueError):
            conn.send(None)
        process.join(2.0)
    if process.is_alive():
        process.kill()
        process.join(5.0)
    conn.close()
