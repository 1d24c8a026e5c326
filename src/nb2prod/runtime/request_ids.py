"""Request ids for the audit log: unguessable (128 random bits, hex), cheap to make under load.

``uuid.uuid4()`` makes one ``getrandom`` system call per id, which showed up in the serving
worker's profile; this reads the same kernel CSPRNG once per 256 ids and slices it.
"""

from __future__ import annotations

import os
import threading

__all__ = ["RequestIds"]

ID_BYTES = 16
BLOCK = 256


class RequestIds:
    """A thread-safe source of 32-hex-character random request ids."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0
        self._pid = os.getpid()

    def take(self, n: int) -> list[str]:
        """``n`` fresh ids."""
        need = n * ID_BYTES
        with self._lock:
            if self._at + need > len(self._pool) or self._pid != os.getpid():  # a forked child draws its own bytes
                self._pid = os.getpid()
                self._pool = os.urandom(max(BLOCK, n) * ID_BYTES)
                self._at = 0
            chunk = self._pool[self._at : self._at + need]
            self._at += need
        return [chunk[i : i + ID_BYTES].hex() for i in range(0, need, ID_BYTES)]
