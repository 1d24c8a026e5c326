"""A served model's log, rotated: ``python -m nb2prod.package.service_log LOG`` copies its stdin to LOG.

`nb2prod serve` starts the service with its output piped here instead of into a plain file, so a
flood of requests (each rejected request may log a line) cannot fill the disk: LOG rolls over at
``MAX_BYTES`` into ``LOG.1`` … ``LOG.<BACKUPS>``. The copier runs in its own session and exits when
the service and all its workers have exited (end of input).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path
from typing import BinaryIO

__all__ = ["BACKUPS", "MAX_BYTES", "copy_rotating", "main"]

MAX_BYTES = 10 * 1024 * 1024
BACKUPS = 3


def copy_rotating(source: BinaryIO, path: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> int:
    """Copy ``source`` line by line into ``path``, rotating at ``max_bytes``; return the lines copied.

    A previous run's log is rolled over first, so it stays readable as ``path.1``.
    """
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(message)s"))
    if path.exists() and path.stat().st_size > 0:
        handler.doRollover()
    lines = 0
    try:
        for raw in iter(source.readline, b""):
            text = raw.decode("utf-8", errors="replace").rstrip("\n")
            handler.emit(logging.makeLogRecord({"msg": text, "levelno": logging.INFO}))
            lines += 1
    finally:
        handler.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m nb2prod.package.service_log LOG", file=sys.stderr)
        return 2
    copy_rotating(sys.stdin.buffer, Path(args[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
