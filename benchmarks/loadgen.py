"""A small, bounded HTTP/1.1 keep-alive load generator (asyncio streams; cheap on the client side).

Used by ``service_load.py``: N concurrent connections each POST the next body as soon as the
previous answer arrived, for a fixed duration. A 503 is retried (counted as a retry, not a
failure) up to ``max_retries`` times with a short backoff.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoadResult", "run_load"]


@dataclass
class LoadResult:
    concurrency: int
    duration_s: float
    ok: int = 0
    failed: int = 0
    retries_503: int = 0
    fallbacks: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    cpu_ms_per_request: float | None = None  # the serving processes' CPU per answered request, when measured

    @property
    def rps(self) -> float:
        return self.ok / self.duration_s if self.duration_s else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    def summary(self) -> dict[str, Any]:
        return {
            "concurrency": self.concurrency,
            "requests_ok": self.ok,
            "failed": self.failed,
            "retries_503": self.retries_503,
            "fallback_answers": self.fallbacks,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "statuses": dict(sorted(self.statuses.items())),
        }


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, path: str, body: bytes) -> tuple[int, bytes]:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode()
    writer.write(head + body)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("connection closed")
    status = int(status_line.split()[1])
    length = 0
    chunked = False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        data = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline()
                break
            data += await reader.readexactly(size)
            await reader.readline()
        return status, data
    return status, await reader.readexactly(length) if length else b""


async def _worker(
    result: LoadResult, host: str, port: int, path: str, make_body: Callable[[int], bytes], deadline: float, max_retries: int, seq: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            seq[0] += 1
            body = make_body(seq[0])
            start = time.perf_counter()
            attempt = 0
            while True:
                try:
                    status, data = await _request(reader, writer, f"{host}:{port}", path, body)
                except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
                    result.failed += 1
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    break
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status == 503 and attempt < max_retries:
                    attempt += 1
                    result.retries_503 += 1
                    await asyncio.sleep(0.01 * attempt)
                    continue
                if 200 <= status < 300:
                    result.ok += 1
                    result.latencies_ms.append((time.perf_counter() - start) * 1000)
                    if data[:1] == b"{" and b'"request_id"' in data[:60]:
                        result.request_ids.append(json.loads(data)["request_id"])
                    if b'"fallback":true' in data:
                        result.fallbacks += 1
                else:
                    result.failed += 1
                    result.errors.append(f"HTTP {status}: {data[:200]!r}")
                break
    finally:
        writer.close()


async def _run(host: str, port: int, path: str, make_body: Callable[[int], bytes], concurrency: int, duration_s: float, max_retries: int) -> LoadResult:
    result = LoadResult(concurrency=concurrency, duration_s=duration_s)
    deadline = time.perf_counter() + duration_s
    seq = [0]
    started = time.perf_counter()
    await asyncio.gather(*(_worker(result, host, port, path, make_body, deadline, max_retries, seq) for _ in range(concurrency)))
    result.duration_s = time.perf_counter() - started
    return result


def run_load(
    host: str, port: int, path: str, make_body: Callable[[int], bytes], *, concurrency: int, duration_s: float, max_retries: int = 5
) -> LoadResult:
    """Drive ``concurrency`` keep-alive connections for ``duration_s`` seconds."""
    return asyncio.run(_run(host, port, path, make_body, concurrency, duration_s, max_retries))
