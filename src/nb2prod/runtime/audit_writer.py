"""The audit writer: predictions go to the fsync'd spool on the request path, to the store off it.

``append`` (called once per micro-batch, so one fsync covers many requests) makes records
durable; ``commit`` does the same on a committer thread (group commit: every batch waiting is
written with one fsync) and calls back once they are durable, so the model thread computes the
next batch while the disk syncs. A background thread drains the spool into ``Store.audit.write``
in batches (at most every ``min_interval_s`` unless ``batch_size`` rows wait: fewer, larger
store transactions), retrying while the store is unreachable, and replays orphan segments left
by dead processes. Nothing on the event loop touches the database.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nb2prod.errors import StoreError
from nb2prod.models import AuditEvent
from nb2prod.runtime.drainer_child import DrainerChild
from nb2prod.runtime.spool import EXPLANATION, SHADOW, Spool, drop_progress, encode_record, orphan_segments, parse_lines, read_progress
from nb2prod.store import Store

__all__ = ["AuditWriter", "StoreHandle", "is_transient", "replay_spool"]

log = logging.getLogger("nb2prod.runtime")

Enrich = Callable[[list[dict[str, Any]]], None]
Durable = Callable[[BaseException | None], None]  # called with None once records are fsync'd, else the error
READ_CHUNK = 4 * 1024 * 1024


class StoreHandle:
    """Opens the store once, lazily, from any thread; reopens after a failed open."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._store: Store | None = None
        self._lock = threading.Lock()

    def get(self) -> Store:
        store = self._store
        if store is not None:
            return store
        with self._lock:
            if self._store is None:
                try:
                    self._store = Store.open(self.url)
                except StoreError as exc:
                    if "already exists" not in str(exc):
                        raise
                    time.sleep(0.2)  # another process created the tables at the same moment
                    self._store = Store.open(self.url)
            return self._store

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def is_transient(exc: BaseException) -> bool:
    from nb2prod.store.engine import is_transient as transient

    return transient(exc)


def _events(records: Sequence[dict[str, Any]]) -> list[AuditEvent]:
    return [AuditEvent.from_dict(r) for r in records]


EXPLAIN_BACKLOG = 10_000  # sampled rows waiting for an explanation in process mode; past it the oldest go without


def _write(store: Store, records: list[dict[str, Any]], reject: Callable[[dict[str, Any], BaseException], None]) -> int:
    """Write spool lines: prediction rows (``_`` keys dropped), then explanation and shadow lines onto their rows.

    Such a line always follows its row in the spool, so its row is stored first. Returns rows written.
    """
    rows = [_clean(r) for r in records if "_kind" not in r]
    explained = {r["request_id"]: r.get("explanation") for r in records if r.get("_kind") == EXPLANATION and "request_id" in r}
    shadowed = [{k: r.get(k) for k in ("request_id", "output", "score", "error")}
                for r in records if r.get("_kind") == SHADOW and "request_id" in r]
    written = _write_rows(store, rows, reject)
    if explained:
        store.audit.write_explanations(explained)
    if shadowed:
        store.audit.write_shadow(shadowed)
    return written


def _write_rows(store: Store, records: list[dict[str, Any]], reject: Callable[[dict[str, Any], BaseException], None]) -> int:
    """Write prediction rows; isolate rows the database refuses (not transient) one by one."""
    try:
        return store.audit.write(_events(records))
    except Exception as exc:
        if is_transient(exc):
            raise
        if len(records) == 1:
            reject(records[0], exc)
            return 0
    written = 0
    for record in records:
        try:
            written += store.audit.write(_events([record]))
        except Exception as exc:
            if is_transient(exc):
                raise
            reject(record, exc)
    return written


def replay_spool(folder: str | Path, store: Store, *, owned: set[Path] | None = None, batch_size: int = 1000) -> int:
    """Drain every orphan segment in ``folder`` into ``store`` and delete it; returns records seen.

    Safe to run at any time: segments of live processes are locked and skipped, and inserts are
    idempotent on request id. Used at service start and by ``nb2prod`` tooling after a crash.
    """
    folder = Path(folder)
    total = 0
    rejected = folder / "rejected.jsonl"

    def reject(record: dict[str, Any], exc: BaseException) -> None:
        _reject_to(rejected, record, exc)

    for path, fd in orphan_segments(folder, owned or set()):
        try:
            offset, _ = read_progress(path)  # what a drainer process already copied (a replay of it would be skipped anyway)
            if offset:
                os.lseek(fd, offset, os.SEEK_SET)
            data = b""
            while True:
                chunk = os.read(fd, READ_CHUNK)
                if not chunk:
                    break
                data += chunk
            records, _, bad = parse_lines(data)
            if bad:
                log.warning("audit spool %s: %d unreadable line(s) skipped (torn write at a crash)", path.name, bad)
            for start in range(0, len(records), batch_size):
                _write(store, records[start : start + batch_size], reject)
            total += len(records)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            drop_progress(path)
        finally:
            os.close(fd)
    return total


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


def _reject_to(path: Path, record: dict[str, Any], exc: BaseException) -> None:
    log.error("audit row %s refused by the store (%s); kept in %s", record.get("request_id"), exc, path)
    try:
        with path.open("ab") as handle:
            handle.write(encode_record({**record, "_refused": f"{type(exc).__name__}: {exc}"}))
    except OSError:
        log.exception("cannot keep the refused audit row")


class AuditWriter:
    """Durable audit log: fsync'd spool on the request path, batched store writes off it."""

    def __init__(
        self,
        spool_dir: Path,
        store: StoreHandle,
        *,
        enrich: Enrich | None = None,
        batch_size: int = 1000,
        poll_s: float = 0.05,
        min_interval_s: float = 0.2,
        orphan_scan_s: float = 10.0,
        drainer: str = "thread",
    ) -> None:
        self.spool = Spool(spool_dir)
        # "process": a child process copies the spool into the store (no store work under this process's GIL)
        self.child = DrainerChild(spool_dir, store.url) if drainer == "process" else None
        self.drainer_down: str | None = None
        self.store = store
        self._enrich = enrich
        self._unexplained: collections.deque[dict[str, Any]] = collections.deque(maxlen=EXPLAIN_BACKLOG)
        self.batch_size = batch_size
        self.poll_s = poll_s
        self.min_interval_s = min_interval_s
        self.orphan_scan_s = orphan_scan_s
        self._wake = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._hurry = False  # flush() waits: drain now instead of letting rows accumulate
        self._commits: list[tuple[Sequence[dict[str, Any]], Durable]] = []
        self._commit_wake = threading.Condition()
        self._commit_stop = False
        self._committer: threading.Thread | None = None
        self.commits = 0  # fsyncs made by the committer (each covering every batch that waited)
        self.drained = 0
        self.written = 0
        self.replayed = 0
        self.refused = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> AuditWriter:
        self.spool.open()
        if self.child is not None:
            self.child.start()
        target = self._run if self.child is None else self._watch
        self._thread = threading.Thread(target=target, name="nb2prod-audit-writer", daemon=True)
        self._thread.start()
        self._committer = threading.Thread(target=self._run_commits, name="nb2prod-audit-commit", daemon=True)
        self._committer.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self, timeout: float = 10.0) -> bool:
        """Drain what the store accepts within ``timeout``; what is left stays spooled for replay."""
        self.finish_commits(timeout)
        drained = self.flush(timeout)
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.child is not None:
            segments = self.spool.pending_segments()
            self.spool.close(drained=drained)
            for segment in segments:  # deleted when everything was in the store: their progress files go too
                if not segment.path.exists():
                    drop_progress(segment.path)
            self.child.stop(timeout)  # its last pass finishes what this process leaves (now unlocked)
            return drained
        self.spool.close(drained=drained)
        return drained

    # -- request path ------------------------------------------------------------------------
    def append(self, records: Sequence[dict[str, Any]]) -> None:
        """Make ``records`` durable (fsync); the drainer will copy them into the store."""
        self.spool.append(records)
        if self.child is not None and self._enrich is not None:  # process mode: explained after spooling (_watch)
            self._unexplained.extend(r for r in records if r.get("_explain"))
        with self._wake:
            self._wake.notify()

    def commit(self, records: Sequence[dict[str, Any]], done: Durable) -> None:
        """Make ``records`` durable on the committer thread, then call ``done(None)`` (``done(error)`` if the disk refuses).

        Every commit waiting when the committer wakes shares one write and one fsync.
        """
        with self._commit_wake:
            if self._commit_stop:
                raise StoreError("the audit log is closing", fix="retry against another replica")
            self._commits.append((records, done))
            self._commit_wake.notify()

    def finish_commits(self, timeout: float = 10.0) -> None:
        """Make every commit handed in so far durable (and answered), then refuse new ones."""
        with self._commit_wake:
            self._commit_stop = True
            self._commit_wake.notify_all()
        if self._committer is not None:
            self._committer.join(timeout)

    def _run_commits(self) -> None:
        while True:
            with self._commit_wake:
                while not self._commits and not self._commit_stop:
                    self._commit_wake.wait()
                items, self._commits = self._commits, []
                if not items:
                    return  # stopping, nothing left
            error: BaseException | None = None
            try:
                self.append([r for records, _ in items for r in records])
                self.commits += 1
            except StoreError as exc:
                error = exc
            for _, done in items:
                try:
                    done(error)
                except Exception:
                    log.exception("answering a committed batch failed")

    @property
    def pending(self) -> int:
        return self.spool.appended - self.drained

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every record appended so far is in the store (or ``timeout``)."""
        target = self.spool.appended
        deadline = time.monotonic() + timeout
        with self._wake:
            self._hurry = True
            self._wake.notify_all()
            try:
                while self.drained < target:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self.alive:
                        return self.drained >= target
                    self._wake.wait(min(left, 0.05))
            finally:
                self._hurry = False
        return True

    def stats(self) -> dict[str, Any]:
        return {
            "spooled": self.spool.appended,
            "written": self.written,
            "pending": self.pending,
            "replayed": self.replayed,
            "refused": self.refused,
            "fsyncs": self.commits,
            "spool_dir": str(self.spool.folder),
            "last_error": self.last_error,
            "drainer": {"mode": "thread"} if self.child is None else {**self.child.snapshot(), "down": self.drainer_down},
        }

    # -- drainer -----------------------------------------------------------------------------
    def _reject(self, record: dict[str, Any], exc: BaseException) -> None:
        self.refused += 1
        _reject_to(self.spool.folder / "rejected.jsonl", record, exc)

    def _note_error(self, exc: BaseException) -> None:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if message != self.last_error:
            log.warning("audit store unavailable, records stay spooled: %s", message)
        self.last_error, self.last_error_at = message, time.time()

    def _drain_once(self) -> bool:
        """Copy the next durable chunk of each segment into the store; True if anything moved."""
        store = self.store.get()
        moved = False
        for segment in self.spool.pending_segments():
            while segment.offset < segment.durable:
                chunk = segment.read(READ_CHUNK)
                records, consumed, bad = parse_lines(chunk)
                if consumed == 0:
                    break
                if bad:
                    log.warning("audit spool %s: %d unreadable line(s) skipped", segment.path.name, bad)
                for start in range(0, len(records), self.batch_size):
                    part = records[start : start + self.batch_size]
                    if self._enrich is not None:
                        try:
                            self._enrich(part)
                        except Exception:
                            log.exception("explanations for stored predictions failed; rows stored without them")
                    self.written += _write(store, part, self._reject)
                segment.offset += consumed
                with self._wake:
                    self.drained += len(records) + bad
                    self._wake.notify_all()
                moved = True
            if segment.closed and segment.offset >= segment.durable:
                self.spool.retire(segment)
        return moved

    def _explain_spooled(self) -> None:
        """Process mode: explanations for sampled rows already spooled, appended as lines of their own that
        the drainer puts onto the stored rows (the rows themselves are never held back for them); the
        same CPU budget as in thread mode applies, and a row over budget is stored without one."""
        if self._enrich is None or not self._unexplained:
            return
        batch: list[dict[str, Any]] = []
        while self._unexplained and len(batch) < self.batch_size:
            batch.append(self._unexplained.popleft())
        try:
            self._enrich(batch)
        except Exception:
            log.exception("explanations for stored predictions failed; rows stored without them")
            return
        lines = [{"_kind": EXPLANATION, "request_id": r["request_id"], "explanation": r["explanation"]}
                 for r in batch if r.get("explanation") is not None]
        if lines:
            self.spool.append(lines)

    def _watch(self) -> None:
        """Process mode: follow the drainer child's progress, restart it when it dies."""
        assert self.child is not None
        while True:
            with self._wake:
                if self._stop:
                    return
            try:
                self._explain_spooled()
                self.child.release(self.spool.release_closed())
                drained = self.child.drained(self.spool.pending_segments())
                self.drainer_down = self.child.watch()
            except Exception as exc:
                log.exception("watching the audit drainer failed; retrying")
                self._note_error(exc)
                drained = self.drained
            with self._wake:
                self.drained = drained
                self._wake.notify_all()
                self._wake.wait_for(lambda: self._stop or self._hurry, self.min_interval_s)
                if self._hurry:
                    self._wake.wait(self.child.interval_s)

    def _run(self) -> None:
        backoff = self.poll_s
        next_scan = 0.0
        while True:
            with self._wake:
                if self._stop:
                    return
            try:
                if time.monotonic() >= next_scan:
                    self.replayed += replay_spool(self.spool.folder, self.store.get(), owned=self.spool.owned_paths)
                    next_scan = time.monotonic() + self.orphan_scan_s
                moved = self._drain_once()
                backoff = self.poll_s
                self.last_error = None
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("audit writer error; retrying")
                self._note_error(exc)
                moved = False
                backoff = min(backoff * 2, 5.0)
            if moved and self.pending < self.batch_size:
                with self._wake:  # let rows accumulate: fewer, larger store transactions (flush() cuts it short)
                    self._wake.wait_for(lambda: self._hurry or self._stop or self.pending >= self.batch_size, self.min_interval_s)
            if not moved:
                with self._wake:
                    if (not self._stop and self.pending <= 0) or (not self._stop and self.last_error is not None):
                        self._wake.wait(backoff)
