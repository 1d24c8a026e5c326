"""Alerts that run by themselves: one evaluator under a lease, one message per status change, retries."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from nb2prod.errors import UsageError
from nb2prod.models import AlertRule
from nb2prod.monitor.alert_notify import backoff_s, deliver_due, evaluate_and_queue
from nb2prod.runtime.alert_watcher import AlertWatcher, start_alert_watcher
from nb2prod.runtime.audit_writer import StoreHandle
from nb2prod.settings import Settings
from nb2prod.store import Store

ERRORS = AlertRule(name="errors", metric="ops.error_rate", threshold=0.05, window="1h", min_count=100)


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []
    fail_next: ClassVar[int] = 0
    attempts: ClassVar[int] = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Receiver.attempts += 1
        if _Receiver.fail_next > 0:
            _Receiver.fail_next -= 1
            self.send_response(500)
        else:
            _Receiver.received.append(body)
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    _Receiver.received, _Receiver.fail_next, _Receiver.attempts = [], 0, 0
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack", _Receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _watchers(ws: Any, url: str, rules: list[AlertRule], n: int = 2, **kwargs: Any) -> list[AlertWatcher]:
    return [AlertWatcher("credit", StoreHandle(ws.store.engine.url.render_as_string(hide_password=False)), period_s=60,
                         webhook=url, rules=rules, holder=f"replica-{i}", **kwargs) for i in range(n)]


def test_two_evaluators_send_one_message_while_firing_and_one_when_resolved(seeded: Any, receiver: Any) -> None:
    url, hook = receiver
    ws = seeded(scenario="none", n_live=1500, error_rate=0.10)
    first, second = _watchers(ws, url, [ERRORS])
    t0 = time.time()
    for minute in range(10):  # ten minutes of firing, both replicas ticking every minute
        now = t0 + 60 * minute
        leaders = [first.run_once(now), second.run_once(now + 1)]
        assert leaders == [True, False]  # the first holds the lease; the second never evaluates
    assert len(hook.received) == 1
    message = hook.received[0]
    assert set(message) == {"text", "blocks"}  # Slack incoming-webhook shape
    assert "credit" in message["text"] and "errors is firing" in message["text"] and "ops.error_rate" in message["text"]
    assert message["blocks"][0]["type"] == "section" and message["blocks"][0]["text"]["type"] == "mrkdwn"
    assert first.evaluations == 10 and second.evaluations == 0
    [fired] = ws.alerts("credit")  # recorded in the alerts history too, marked delivered
    assert fired.rule == "errors" and fired.delivered and fired.value > 0.05

    relaxed = AlertRule(name="errors", metric="ops.error_rate", threshold=0.5, window="1h", min_count=100)
    first.rules = second.rules = [relaxed]
    for minute in range(10, 15):
        first.run_once(t0 + 60 * minute)
        second.run_once(t0 + 60 * minute + 1)
    assert len(hook.received) == 2 and "errors resolved" in hook.received[1]["text"]
    [status] = ws.store.alert_states.statuses("credit")
    assert status.status == "ok"

    first.close()  # the leader gives the lease up: the other replica takes over at its next tick
    assert second.run_once(t0 + 60 * 16) and second.evaluations == 1
    assert len(hook.received) == 2  # still ok: nothing new to say


def test_evaluator_threads_on_two_replicas_deliver_once(seeded: Any, receiver: Any) -> None:
    url, hook = receiver
    ws = seeded(scenario="none", n_live=1500, error_rate=0.10)
    watchers = _watchers(ws, url, [ERRORS], n=3, tick_s=0.05)
    for watcher in watchers:
        watcher.period_s = 0.1
        watcher.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not hook.received or sum(w.evaluations for w in watchers) < 5):
            time.sleep(0.05)
    finally:
        for watcher in watchers:
            watcher.close()
    assert sum(w.evaluations for w in watchers) >= 5
    assert len(hook.received) == 1
    assert all(w.last_error is None for w in watchers), [w.last_error for w in watchers]


def test_failed_delivery_is_retried_with_backoff_and_keeps_order(seeded: Any, receiver: Any) -> None:
    url, hook = receiver
    ws = seeded(scenario="none", n_live=1500, error_rate=0.10)
    hook.fail_next = 2
    t0 = time.time()
    evaluate_and_queue(ws.store, "credit", [ERRORS], now=t0)
    [failed] = deliver_due(ws.store, url, now=t0)
    assert failed.error == "webhook answered HTTP 500"
    # resolved meanwhile: its message waits behind the undelivered "firing" one
    evaluate_and_queue(ws.store, "credit", [AlertRule(name="errors", metric="ops.error_rate", threshold=0.5, window="1h")], now=t0 + 1)
    assert deliver_due(ws.store, url, now=t0 + 2) == []  # firing not due yet (backoff), resolved blocked behind it
    [again] = deliver_due(ws.store, url, now=t0 + backoff_s(1))
    assert again.kind == "firing" and again.error is not None
    assert deliver_due(ws.store, url, now=t0 + backoff_s(1) + 1) == []
    sent = deliver_due(ws.store, url, now=t0 + backoff_s(1) + backoff_s(2))
    assert [(d.kind, d.error) for d in sent] == [("firing", None), ("resolved", None)]
    assert hook.attempts == 4
    assert ["errors is firing" in m["text"] for m in hook.received] == [True, False]
    assert ["errors resolved" in m["text"] for m in hook.received] == [False, True]
    outbox = ws.store.alert_states.outbox("credit")
    assert [(m.kind, m.attempts, m.delivered_at is not None) for m in outbox] == [("resolved", 1, True), ("firing", 3, True)]
    assert backoff_s(1) == 5 and backoff_s(2) == 10 and backoff_s(20) == 600


def test_no_verdict_keeps_the_status_and_no_webhook_records_only(seeded: Any) -> None:
    ws = seeded(scenario="none", n_live=300, error_rate=0.10)
    [watcher] = _watchers(ws, "http://unused", [ERRORS], n=1)
    watcher.webhook = None  # no webhook configured: statuses and history only
    undecided = AlertRule(name="errors", metric="ops.error_rate", threshold=0.05, window="1h", min_count=10_000)
    watcher.rules = [undecided]
    assert watcher.run_once()
    assert ws.store.alert_states.statuses("credit") == []  # too few rows: no verdict, nothing recorded
    watcher.rules = [ERRORS]
    watcher.run_once(time.time() + 61)
    assert [s.status for s in ws.store.alert_states.statuses("credit")] == ["firing"]
    watcher.rules = [undecided]
    watcher.run_once(time.time() + 122)
    assert [s.status for s in ws.store.alert_states.statuses("credit")] == ["firing"]  # no verdict keeps it
    assert ws.store.alert_states.outbox("credit") == [] and len(ws.alerts("credit")) == 1


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        with Store.open(f"sqlite:///{tmp_path / 'db' / 'nb2prod.db'}") as s:
            yield s
        return
    url = os.environ.get("NB2PROD_TEST_PG_URL")
    if not url:
        pytest.skip("NB2PROD_TEST_PG_URL not set (.ci/run starts a PostgreSQL server and sets it)")
    import sqlalchemy as sa

    from nb2prod.store.tables import alert_outbox, alert_state, alerts

    with Store.open(url) as s:
        with s.engine.begin() as conn:
            for table in (alert_outbox, alert_state, alerts):
                conn.execute(sa.delete(table))
        yield s


def test_status_changes_queue_once_across_racing_evaluators(store: Store) -> None:
    """Eight threads record the same status change at once: one notification, one history row."""
    start = threading.Barrier(8)
    results: list[bool] = []
    fired = {"name": "credit", "rule": "drift", "metric": "drift.score", "value": 0.4, "threshold": 0.0, "window": "1h", "ts": 1.0}

    def record(status: str, now: float) -> None:
        start.wait()
        results.append(store.alert_states.transition("credit", "drift", status, 0.4, now, payload={"text": status}, fired=fired))

    for status, now in (("firing", 1.0), ("ok", 2.0), ("firing", 3.0)):
        threads = [threading.Thread(target=record, args=(status, now)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count(True) == 1, (status, results)
        results.clear()
    assert [m.kind for m in store.alert_states.outbox("credit")] == ["firing", "resolved", "firing"]
    assert len(store.alerts.list("credit")) == 2
    assert not store.alert_states.transition("other", "r", "ok", 0.0, 1.0, payload={"text": "x"})  # first status ok: nothing to resolve
    claimed = store.alert_states.claim_due(10.0, hold_s=30)
    assert [m.kind for m in claimed] == ["firing"]  # later ones of the same rule wait for it
    assert store.alert_states.claim_due(10.0, hold_s=30) == []  # claimed: a second deliverer gets nothing


def test_settings_and_service_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match="NB2PROD_ALERT_WEBHOOK"):
        Settings.from_env({"NB2PROD_ALERT_WEBHOOK": "hooks.slack.com/x"})
    with pytest.raises(UsageError, match="NB2PROD_ALERT_EVAL_S"):
        Settings.from_env({"NB2PROD_ALERT_EVAL_S": "soon"})
    settings = Settings.from_env({"NB2PROD_ALERT_WEBHOOK": "https://hooks.example/x", "NB2PROD_ALERT_EVAL_S": "30"})
    assert settings.alert_webhook == "https://hooks.example/x" and settings.alert_eval_s == 30.0
    handle = StoreHandle(f"sqlite:///{tmp_path / 'a.db'}")
    assert start_alert_watcher("credit", handle, env={"NB2PROD_ALERT_WEBHOOK": "ftp://x"}) is None  # logged, service keeps serving
    assert start_alert_watcher("credit", handle, env={"NB2PROD_ALERT_EVAL_S": "0"}) is not None  # 0: no thread
    watcher = start_alert_watcher("credit", handle, env={"NB2PROD_ALERT_EVAL_S": "0.05"})
    assert watcher is not None
    deadline = time.monotonic() + 30
    while watcher.last_error is None and time.monotonic() < deadline:
        time.sleep(0.05)
    watcher.close()
    assert watcher.last_error is not None and "credit" in watcher.last_error  # no such deployment yet: reported, not raised
    handle.close()
