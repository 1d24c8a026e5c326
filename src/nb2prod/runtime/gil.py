"""How often CPython hands the GIL between the serving process's threads: its own 5 ms while the model
thread gets the GIL when it needs it, 1 ms while it is starved.

Each time the model thread leaves the GIL (a tree ensemble's C loop, numpy, an fsync) it waits up to one
switch interval to get it back from a busy event loop. At 16 connections that costs little and the
shorter interval costs more (measured: 1 ms gave ~10-15 % less throughput, from the extra hand-overs);
when a spike makes the event loop hold the GIL most of the time, a batch's wall-clock compute stretches
to several times its CPU time and toward ``timeout_ms`` — then 1 ms keeps the model's answers in time.
A batch computing past a tenth of ``timeout_ms`` (seen by the event loop on each request, so the
batch in flight is helped) or a finished batch that waited more than it computed shortens the interval
for :data:`HOLD_S`; a calm batch after that restores it. ``NB2PROD_SWITCH_INTERVAL_MS`` fixes the interval instead.
"""

from __future__ import annotations

import os
import sys
import threading
import time

__all__ = ["BUSY_S", "HOLD_S", "GilHandover", "fixed_interval_s"]

BUSY_S = 0.001  # the interval while the model thread is starved
HOLD_S = 2.0  # how long a starved batch keeps the short interval
STARVED_RATIO = 2.0  # wall-clock time over CPU time of a batch past which it waited more than it computed


def fixed_interval_s(env: dict[str, str] | None = None) -> float | None:
    """``NB2PROD_SWITCH_INTERVAL_MS``: a positive number of milliseconds, or unset; anything else is refused in one line."""
    from nb2prod.errors import UsageError

    raw = (os.environ if env is None else env).get("NB2PROD_SWITCH_INTERVAL_MS", "").strip()
    if not raw:
        return None
    try:
        wanted = float(raw)
    except ValueError:
        wanted = float("nan")
    if not 0 < wanted <= 1000:  # NaN fails too
        raise UsageError(
            f"NB2PROD_SWITCH_INTERVAL_MS={raw!r} is not a switch interval",
            fix="set it to milliseconds between 0 and 1000 (e.g. 1), or unset it for the adaptive interval",
        )
    return wanted / 1000.0


class GilHandover:
    """Adapts ``sys.setswitchinterval`` to what the model thread's batches measure."""

    def __init__(self, timeout_s: float, env: dict[str, str] | None = None) -> None:
        self.calm_s = sys.getswitchinterval()
        self.fixed = fixed_interval_s(env)
        # a batch counts as starved only when the waiting matters against the deadline
        self.min_wait_s = 0.1 * timeout_s
        self.busy_until = 0.0
        self.shortened = 0  # times a starved batch shortened the interval (for /status)
        self._lock = threading.Lock()

    def start(self) -> None:
        if self.fixed is not None:
            sys.setswitchinterval(self.fixed)

    def watch(self, computing_s: float) -> None:
        """The event loop's look at the batch in flight: computing this long already, it is held back now."""
        if computing_s > self.min_wait_s and self.fixed is None:
            now = time.monotonic()
            if self.busy_until <= now:
                self._shorten(now)

    def _shorten(self, now: float) -> None:
        with self._lock:
            if self.busy_until <= now:
                self.shortened += 1
                sys.setswitchinterval(BUSY_S)
            self.busy_until = now + HOLD_S

    def observe(self, wall_s: float, cpu_s: float) -> None:
        """One batch's wall-clock and CPU time (the model thread's own, C loops included)."""
        if self.fixed is not None:
            return
        now = time.monotonic()
        if wall_s - cpu_s > self.min_wait_s and wall_s > STARVED_RATIO * cpu_s:
            self._shorten(now)
            return
        with self._lock:
            if self.busy_until and self.busy_until <= now:
                self.busy_until = 0.0
                sys.setswitchinterval(self.calm_s)

    @property
    def interval_s(self) -> float:
        return sys.getswitchinterval()

    def close(self) -> None:
        if self.fixed is None and self.busy_until:
            sys.setswitchinterval(self.calm_s)
            self.busy_until = 0.0
