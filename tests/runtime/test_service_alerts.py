"""Two service replicas on one store evaluate the alert rules by themselves: one webhook message."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from runtime_folder import sample_rows  # tests/runtime is on sys.path (rootdir import mode)

from nb2prod.models import VersionRecord


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        _Receiver.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def receiver() -> Iterator[str]:
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_two_replicas_alert_once(credit_folder: Path, tmp_path: Path, receiver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from nb2prod.runtime import GuardedRuntime
    from nb2prod.store import Store

    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"name": "any traffic", "metric": "ops.latency_p95_ms", "op": ">=", "threshold": 0, "window": "1h"}]))
    monkeypatch.setenv("NB2PROD_ALERT_WEBHOOK", receiver)
    monkeypatch.setenv("NB2PROD_ALERT_EVAL_S", "0.2")
    monkeypatch.setenv("NB2PROD_ALERT_RULES", str(rules))
    url = f"sqlite:///{tmp_path / 'nb2prod.db'}"
    with Store.open(url) as store:
        store.registry.add_version(VersionRecord(version_id="credit-v1", name="credit", created_at="2026-12-01T00:00:00",
                                                 model_hash="x", deployment_dir=str(credit_folder)))
    replicas = [GuardedRuntime.load(credit_folder, store_url=url, spool_dir=tmp_path / f"spool{i}") for i in range(2)]
    try:
        for replica in replicas:
            replica.predict(sample_rows(credit_folder)[:20])
            assert replica.flush(30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not _Receiver.received or sum(
                r.alert_watcher.evaluations for r in replicas if r.alert_watcher) < 6):
            time.sleep(0.1)
        statuses = [r.status()["alerts"] for r in replicas]
    finally:
        for replica in replicas:
            replica.close()
    assert len(_Receiver.received) == 1, _Receiver.received
    assert "any traffic is firing" in _Receiver.received[0]["text"] and "blocks" in _Receiver.received[0]
    assert sorted(s["leader"] for s in statuses) == [False, True]  # one evaluator across the replicas
    assert all(s["last_error"] is None for s in statuses), statuses
