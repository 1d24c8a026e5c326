"""Model health: a rolling error rate, the start-up canary, and a circuit that opens on failure.

``is_alive``: the model loaded, the canary (a prediction on a stored sample row) succeeded, and
the runtime's threads run. ``is_ready``: alive and the model's error rate (exceptions and
timeouts over the last ``health.window`` model calls) is at most ``health.max_error_rate``.
While the rate is above it the circuit is open: requests are answered by the fallback without
waiting on the model, and a canary probe runs at most once per ``probe_interval_s``; a passing
probe closes the circuit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

__all__ = ["Health"]


class Health:
    """Thread-safe rolling error window plus canary state."""

    def __init__(self, *, window: int, max_error_rate: float, probe_interval_s: float = 1.0) -> None:
        self.window = window
        self.max_error_rate = max_error_rate
        self.probe_interval_s = probe_interval_s
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._errors = 0
        self._lock = threading.Lock()
        self.canary_ok = False
        self.canary_detail = "not run"
        self.last_error: str | None = None
        self._probe_due = 0.0
        self._probing = False
        self.min_calls = min(window, 10)

    def record(self, ok: bool, n: int = 1, error: str | None = None) -> None:
        with self._lock:
            for _ in range(n):
                if len(self._outcomes) == self._outcomes.maxlen and not self._outcomes[0]:
                    self._errors -= 1
                self._outcomes.append(ok)
                if not ok:
                    self._errors += 1
            if error is not None:
                self.last_error = error

    @property
    def error_rate(self) -> float:
        with self._lock:
            return self._errors / len(self._outcomes) if self._outcomes else 0.0

    @property
    def circuit_open(self) -> bool:
        """True when the model is failing too often to be asked (or the canary failed)."""
        if not self.canary_ok:
            return True
        with self._lock:
            calls = len(self._outcomes)
            return calls >= self.min_calls and self._errors / calls > self.max_error_rate

    def set_canary(self, ok: bool, detail: str) -> None:
        """The start-up canary's result (``is_alive`` depends on it)."""
        with self._lock:
            self.canary_ok = ok
            self.canary_detail = detail
            self._probing = False
            if ok:
                self._outcomes.clear()
                self._errors = 0

    def probe_result(self, ok: bool, detail: str) -> None:
        """A probe while the circuit is open: passing closes it (and clears the window); failing keeps it open."""
        if ok:
            self.set_canary(True, detail)
            return
        with self._lock:
            self._probing = False
            self.last_error = detail

    def claim_probe(self) -> bool:
        """True for the one caller that should run a canary probe now."""
        now = time.monotonic()
        with self._lock:
            if self._probing or now < self._probe_due:
                return False
            self._probing = True
            self._probe_due = now + self.probe_interval_s
            return True

    def snapshot(self) -> dict[str, Any]:
        return {
            "canary_ok": self.canary_ok,
            "canary": self.canary_detail,
            "error_rate": round(self.error_rate, 4),
            "window": self.window,
            "max_error_rate": self.max_error_rate,
            "circuit_open": self.circuit_open,
            "last_error": self.last_error,
        }
