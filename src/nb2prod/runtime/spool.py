"""A durable local spool: append-only JSON-lines segment files, fsync'd before a response is sent.

Each serving process owns one active segment (``<host>-<pid>-<ns>.jsonl``) and holds an
exclusive ``flock`` on it while alive. A record is acknowledged only after its bytes are written
and ``fdatasync``'d, so a ``kill -9`` (or power loss) after the response left cannot lose it;
a torn tail from a crash mid-write is an unacknowledged record and is skipped on replay. A
segment whose lock can be taken belongs to a dead process: it is an orphan, replayed into the
store by whichever process finds it (inserts are idempotent on request id).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2prod.errors import StoreError

__all__ = [
    "EXPLANATION", "ORPHAN_GRACE_S", "SHADOW", "Segment", "Spool", "drop_progress", "encode_record", "orphan_segments", "parse_lines", "read_progress",
    "resolve_spool_dir", "save_progress",
]

SUFFIX = ".jsonl"
# Lines other than prediction rows carry a "_kind", and always come after the row they are about:
EXPLANATION = "explanation"  # an explanation computed after its row was spooled
SHADOW = "shadow"  # a shadow version's answer to a row (output, score, error)
PROGRESS = ".drained"  # beside a segment: "<bytes> <records>" already copied into the store by a drainer process


def _progress_path(segment: Path) -> Path:
    return segment.with_name(segment.name + PROGRESS)


def read_progress(segment: Path) -> tuple[int, int]:
    """``(bytes, records)`` of ``segment`` a drainer has copied into the store; ``(0, 0)`` if none."""
    try:
        text = _progress_path(segment).read_text()
        offset, records = (int(v) for v in text.split())
        return offset, records
    except (OSError, ValueError):
        return 0, 0


def save_progress(segment: Path, offset: int, records: int) -> None:
    """Record how far ``segment`` is in the store (atomic rename; not fsync'd: after a crash an older
    value only means rows are written again, and the store skips a request id it already has)."""
    target = _progress_path(segment)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(f"{offset} {records}\n")
    os.replace(tmp, target)


def drop_progress(segment: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        _progress_path(segment).unlink()


def _default(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item):
        return item()
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(value)


def encode_record(record: dict[str, Any]) -> bytes:
    """One JSON line (no inner newlines: JSON escapes them)."""
    return json.dumps(record, separators=(",", ":"), default=_default, allow_nan=False).encode("utf-8") + b"\n"


def parse_lines(chunk: bytes) -> tuple[list[dict[str, Any]], int, int]:
    """Complete lines of ``chunk`` as records: ``(records, bytes consumed, unreadable lines)``.

    A trailing partial line (no newline yet, or a torn write) is not consumed.
    """
    end = chunk.rfind(b"\n")
    if end < 0:
        return [], 0, 0
    records: list[dict[str, Any]] = []
    bad = 0
    for line in chunk[: end + 1].splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(value, dict):
            records.append(value)
        else:
            bad += 1
    return records, end + 1, bad


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class Segment:
    """One segment file: its write handle (while active), the durable size and the drained offset."""

    path: Path
    fd: int
    durable: int = 0
    offset: int = 0
    closed: bool = False
    records: int = 0

    def read(self, limit: int) -> bytes:
        """Durable bytes after ``offset`` (at most ``limit``)."""
        size = min(self.durable - self.offset, limit)
        return os.pread(self.fd, size, self.offset) if size > 0 else b""


class Spool:
    """This process's segments in ``folder``: appends with fsync, rotation, and what remains to drain."""

    def __init__(self, folder: Path, *, max_segment_bytes: int = 64 * 1024 * 1024) -> None:
        self.folder = folder
        self.max_segment_bytes = max_segment_bytes
        self._lock = threading.Lock()
        self._segments: list[Segment] = []
        self.appended = 0

    def open(self) -> Spool:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the audit spool folder {self.folder}: {exc.strerror}",
                fix="set NB2PROD_SPOOL_DIR to a writable folder",
            ) from exc
        with self._lock:
            self._segments.append(self._new_segment())
        return self

    def _new_segment(self) -> Segment:
        name = f"{socket.gethostname()}-{os.getpid()}-{time.time_ns()}{SUFFIX}"
        path = self.folder / name
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o640)
        except OSError as exc:
            raise StoreError(
                f"cannot create an audit spool segment in {self.folder}: {exc.strerror}",
                fix="set NB2PROD_SPOOL_DIR to a writable folder",
            ) from exc
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        _fsync_dir(self.folder)
        return Segment(path=path, fd=fd)

    @property
    def owned_paths(self) -> set[Path]:
        with self._lock:
            return {s.path for s in self._segments}

    def append(self, records: Sequence[dict[str, Any]]) -> None:
        """Write ``records`` and fsync them; when this returns they survive a crash.

        Raises :class:`StoreError` if the disk refuses (the caller must not acknowledge them).
        """
        if not records:
            return
        payload = b"".join(encode_record(r) for r in records)
        with self._lock:
            segment = self._segments[-1]
            try:
                written = os.write(segment.fd, payload)
                while written < len(payload):
                    written += os.write(segment.fd, payload[written:])
                os.fdatasync(segment.fd)
            except OSError as exc:
                with contextlib.suppress(OSError):  # drop a partial write: later appends start on a line boundary
                    os.ftruncate(segment.fd, segment.durable)
                raise StoreError(
                    f"cannot write the audit spool {segment.path}: {exc.strerror}",
                    fix="free disk space or set NB2PROD_SPOOL_DIR to a writable folder",
                ) from exc
            segment.durable += len(payload)
            segment.records += len(records)
            self.appended += len(records)
            if segment.durable >= self.max_segment_bytes:
                segment.closed = True
                self._segments.append(self._new_segment())

    def pending_segments(self) -> list[Segment]:
        with self._lock:
            return list(self._segments)

    def retire(self, segment: Segment) -> None:
        """Delete a closed segment once drained."""
        with self._lock:
            if segment in self._segments and segment.closed:
                self._segments.remove(segment)
            else:
                return
        with contextlib.suppress(FileNotFoundError):
            segment.path.unlink()
        os.close(segment.fd)

    def release_closed(self) -> list[Segment]:
        """Close (and forget) rotated segments: their lock is released, so a drainer process finishes and deletes them."""
        with self._lock:
            done = [s for s in self._segments if s.closed]
            self._segments = [s for s in self._segments if not s.closed]
        for segment in done:
            with contextlib.suppress(OSError):
                os.close(segment.fd)
        return done

    def pending_bytes(self) -> int:
        with self._lock:
            return sum(s.durable - s.offset for s in self._segments)

    def close(self, *, drained: bool) -> None:
        """Release this process's segments; delete them when everything reached the store."""
        with self._lock:
            segments, self._segments = self._segments, []
        for segment in segments:
            if drained and segment.offset >= segment.durable:
                with contextlib.suppress(FileNotFoundError):
                    segment.path.unlink()
            os.close(segment.fd)


ORPHAN_GRACE_S = 5.0  # an empty segment younger than this may be one a writer created and has not locked yet


def orphan_segments(folder: Path, owned: set[Path]) -> Iterator[tuple[Path, int]]:
    """Segments in ``folder`` whose writer is gone, each with a locked fd (the caller closes it)."""
    try:
        candidates = sorted(folder.glob(f"*{SUFFIX}"))
    except OSError:
        return
    for path in candidates:
        if path in owned:
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
            info = os.fstat(fd)
        except OSError:
            continue
        if info.st_size == 0 and time.time() - info.st_mtime < ORPHAN_GRACE_S:
            os.close(fd)  # taking its lock now would make its writer's flock fail
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        yield path, fd


def resolve_spool_dir(folder: Path, name: str, version_id: str, env: dict[str, str] | None = None) -> Path:
    """Where a deployment spools: ``NB2PROD_SPOOL_DIR``, else ``<NB2PROD_HOME>/spool/<name>/<version_id>``.

    Never inside the deployment folder: in a Bento that folder is the BentoML model, and deleting
    the model (``bentoml models delete``) must not delete audit rows not yet in the store. Segments
    an older release left in ``<folder>/spool`` whose writer is gone are moved here, so they are
    replayed like any other.
    """
    env = dict(os.environ) if env is None else env
    if env.get("NB2PROD_SPOOL_DIR"):
        return Path(env["NB2PROD_SPOOL_DIR"])
    home = Path(env.get("NB2PROD_HOME") or Path.home() / ".nb2prod")
    target = home / "spool" / name / version_id
    legacy = folder / "spool"
    if legacy.is_dir() and legacy.resolve() != target.resolve():
        for path, fd in orphan_segments(legacy, set()):
            try:
                target.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), str(target / path.name))  # a rename, or copy + delete across devices
            except OSError:
                continue  # left where it was: still on disk, never dropped
            finally:
                os.close(fd)
        if target.is_dir():
            _fsync_dir(target)
    return target
