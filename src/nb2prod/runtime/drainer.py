"""The audit drainer process: copies a serving process's fsync'd spool into the store, outside it.

The serving process only appends (and fsyncs) audit rows; this process tails its live segments,
writes complete lines to the store in batches and records how far it got beside each segment
(``<segment>.drained``), so the store write and its profile folding do not compete with the event
loop and the model thread for one GIL. A segment whose writer is gone (rotated, closed, or its
process killed) is finished from that offset and deleted. Restart-safe in every order: a row is
acknowledged only once it is in the spool, the offset is saved after the store commits, and the
store skips a request id it already has — after a ``kill -9`` of either process a row may be written
twice, never lost, never counted twice.

Started by :class:`~nb2prod.runtime.audit_writer.AuditWriter` as its child
(``python -m nb2prod.runtime.drainer SPOOL STORE_URL --parent PID``); it exits, after a last pass,
when its parent is gone or on SIGTERM.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from nb2prod.runtime.spool import ORPHAN_GRACE_S, SUFFIX, parse_lines, read_progress, save_progress

__all__ = ["drain_segment", "drain_spool", "main"]

log = logging.getLogger("nb2prod.runtime.drainer")

READ_CHUNK = 4 * 1024 * 1024


def drain_segment(path: Path, store: Any, *, batch_size: int = 1000, owner: int | None = None) -> int:
    """Copy the complete lines of ``path`` past its saved offset into ``store``; delete it once its
    writer is gone and everything is copied. A live segment is tailed only when ``owner`` (a pid) is
    None or wrote it: several workers may share one spool folder, each with its own drainer. Returns
    the rows copied."""
    from nb2prod.runtime.audit_writer import _reject_to, _write

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0
    moved = 0
    try:
        info = os.fstat(fd)
        if info.st_size == 0 and time.time() - info.st_mtime < ORPHAN_GRACE_S:
            return 0  # its writer may have just created it: taking the lock now would make the writer's flock fail
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            orphan = True
        except OSError:
            if owner is not None and f"-{owner}-" not in path.name:
                return 0  # another live process's segment: its own drainer tails it
            orphan = False  # our parent holds the lock: tail it
        offset, records = read_progress(path)
        rejected = path.parent / "rejected.jsonl"
        while True:
            chunk = os.pread(fd, READ_CHUNK, offset)
            rows, consumed, bad = parse_lines(chunk)
            if consumed == 0:
                break
            if bad:
                log.warning("audit spool %s: %d unreadable line(s) skipped", path.name, bad)
            for start in range(0, len(rows), batch_size):
                _write(store, rows[start : start + batch_size], lambda r, e: _reject_to(rejected, r, e))
            offset += consumed
            records += len(rows) + bad
            moved += len(rows)
            save_progress(path, offset, records)
        if orphan:  # nothing more can arrive; a torn tail is an unacknowledged row
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".drained").unlink(missing_ok=True)
    finally:
        os.close(fd)
    return moved


def drain_spool(folder: Path, store: Any, *, batch_size: int = 1000, owner: int | None = None) -> int:
    """One pass over every segment in ``folder``; returns the rows copied."""
    try:
        segments = sorted(folder.glob(f"*{SUFFIX}"))
    except OSError:
        return 0
    return sum(drain_segment(path, store, batch_size=batch_size, owner=owner) for path in segments)


def _run(folder: Path, url: str, parent: int | None, interval_s: float, batch_size: int, min_interval_s: float) -> int:
    from nb2prod.runtime.audit_writer import StoreHandle, is_transient

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    handle = StoreHandle(url)
    backoff = interval_s
    last_error = None
    while True:
        leaving = stop.is_set() or (parent is not None and os.getppid() != parent)
        try:
            moved = drain_spool(folder, handle.get(), batch_size=batch_size, owner=parent)
            backoff, last_error = interval_s, None
        except Exception as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if message != last_error:
                log.warning("audit store unavailable, rows stay spooled: %s", message)
            if not is_transient(exc):
                log.exception("audit drainer error; retrying")
            last_error, moved = message, 0
            backoff = min(backoff * 2, 5.0)
            if leaving:
                break  # rows stay on disk; the next start replays them
        if leaving:
            break
        if not moved:
            stop.wait(backoff)
        elif moved < batch_size:
            stop.wait(min_interval_s)  # let rows accumulate: fewer, larger store transactions
    handle.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nb2prod.runtime.drainer", description=__doc__.splitlines()[0])
    parser.add_argument("spool", type=Path)
    parser.add_argument("store_url")
    parser.add_argument("--parent", type=int, default=None, help="exit (after a last pass) when this process is gone")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between passes when idle")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--min-interval", type=float, default=0.1, help="seconds between passes while rows trickle in")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s nb2prod-drainer %(levelname)s %(message)s")
    return _run(args.spool, args.store_url, args.parent, args.interval, args.batch_size, args.min_interval)


if __name__ == "__main__":
    sys.exit(main())
