"""Prediction requests this process has accepted and not yet answered.

The ASGI guard counts them from its first look at a request to the response's last byte. The model
thread compares the count with the jobs it holds: when more requests are on their way (being parsed
and validated on the event loop), waiting a moment for them lets one model call answer them all — a
batch's fixed cost (pandas, scikit-learn's checks, one audit commit) is most of a small batch's time.
An in-process caller that never passed the guard is not counted, so nothing waits for it.
"""

from __future__ import annotations

import threading

__all__ = ["OPEN_PREDICTIONS", "OpenRequests"]


class OpenRequests:
    """A thread-safe count of open prediction requests."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self._count += 1

    def leave(self) -> None:
        with self._lock:
            self._count -= 1

    @property
    def count(self) -> int:
        return self._count


#: the one counter of this process (the guard writes it, the model thread reads it)
OPEN_PREDICTIONS = OpenRequests()
