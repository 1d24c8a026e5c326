"""The generated BentoML service over HTTP: answers, 4xx for client mistakes, no 5xx, metrics, probes, kill -9."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
from runtime_folder import build_deployment, sample_rows
from service_proc import SERVICE_TOKEN, Served, serve

from nb2prod.store import Store

pytestmark = pytest.mark.slow


AUTH = {"authorization": f"Bearer {SERVICE_TOKEN}"}  # the served service protects /feedback and /override with this token


def post(served: Served, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    if path in ("/feedback", "/override"):
        kwargs["headers"] = {**AUTH, **kwargs.get("headers", {})}
    return httpx.post(f"{served.url}{path}", json=body, timeout=30, **kwargs)


def test_predict_batch_and_explain(served: Served) -> None:
    rows = sample_rows(served.folder)
    reply = post(served, "/predict", {"features": rows[0], "explain": True, "request_id": "http-1"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["client_request_id"] == "http-1" and body["request_id"] != "http-1"
    assert body["version_id"] == "credit-v1" and body["fallback"] is False
    sample = json.loads((served.folder / "sample.json").read_text())
    # The model's own score for this row, saved at deploy time, not merely any number in [0, 1].
    assert body["probability"] == pytest.approx(sample["scores"][0], abs=1e-9) and body["confidence"] in {"high", "low"}
    assert set(body["explanation"]) == set(rows[0]) and body["explanation"]["gender"] == 0.0
    batch = post(served, "/predict_batch", {"rows": rows[:5]})
    assert batch.status_code == 200
    assert [p["prediction"] for p in batch.json()["predictions"]] == sample["predictions"][:5]


def test_client_mistakes_get_a_clear_4xx(served: Served) -> None:
    row = sample_rows(served.folder)[0]
    malformed = httpx.post(f"{served.url}/predict", content=b'{"features": {"age": 3', headers={"content-type": "application/json"})
    assert malformed.status_code == 400 and "Invalid JSON" in malformed.text
    wrong_type = post(served, "/predict", {"features": {**row, "age": "forty"}})
    assert wrong_type.status_code == 400 and wrong_type.json()["detail"][0]["loc"] == ["features", "age"]
    missing = dict(row)
    del missing["income"]
    reply = post(served, "/predict", {"features": missing})
    assert reply.status_code == 400 and ["features", "income"] in [d["loc"] for d in reply.json()["detail"]]
    typo = post(served, "/predict", {"features": {**row, "incme": 1}})
    assert typo.status_code == 400 and "incme" in typo.text
    huge = httpx.post(f"{served.url}/predict_batch", content=b'{"rows": [' + b'{"age": 1},' * 300_000 + b"{}]}",
                      headers={"content-type": "application/json"}, timeout=30)  # fmt: skip
    assert huge.status_code == 413 and "exceeds the limit" in huge.json()["message"]
    too_many = post(served, "/predict_batch", {"rows": [row] * 1001})
    assert too_many.status_code == 400 and "at most 1000" in too_many.text
    unknown = post(served, "/feedback", {"request_id": "never-made", "label": 1})
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    bad_id = post(served, "/feedback", {"request_id": "../../etc", "label": 1})
    assert bad_id.status_code == 400


def test_feedback_and_override_over_http(served: Served) -> None:
    rows = sample_rows(served.folder)
    first = post(served, "/predict", {"features": rows[1]}).json()["request_id"]
    second = post(served, "/predict", {"features": rows[2]}).json()["request_id"]
    ok = post(served, "/feedback", {"request_id": first, "label": 1, "outcome": -1200.5, "source": "collections"})
    assert ok.status_code == 200 and ok.json()["label"] == 1
    assert post(served, "/feedback", {"request_id": first, "label": "maybe"}).status_code == 400
    over = post(served, "/override", {"request_id": second, "decision": 0, "operator": "ann", "reason": "verified income"})
    assert over.status_code == 200 and over.json()["operator"] == "ann"
    assert post(served, "/override", {"request_id": second, "decision": 0, "operator": "", "reason": "x"}).status_code == 400
    third = post(served, "/predict", {"features": rows[3]}).json()["request_id"]
    for path, body in (("/feedback", {"request_id": third, "label": 1}),
                       ("/override", {"request_id": third, "decision": 1, "operator": "eve", "reason": "x"})):
        for headers in ({"authorization": ""}, {"authorization": "Bearer wrong"}):
            refused = post(served, path, body, headers=headers)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert "needs this service's token" in refused.json()["message"] and "NB2PROD_SERVICE_TOKEN" in refused.json()["fix"]
    with Store.open(served.store_url) as store:
        assert [f.request_id for f in store.audit.feedback([first])] == [first]
        assert [o.reason for o in store.audit.overrides([second])] == ["verified income"]
        assert store.audit.feedback([third]) == [] and store.audit.overrides([third]) == []  # refused: nothing recorded


def test_a_request_without_a_batch_slot_in_time_gets_a_counted_503_with_retry_after(served: Served) -> None:
    # The model thread is held on a first request (the captured transformer's "hold" fault); a second
    # request then waits for a batch slot longer than serving.max_queue_ms (1 s by default) and is
    # shed: a 503 the client can act on, not an answer from the fallback.
    row = sample_rows(served.folder)[1]
    fault = served.folder / "FAULT"
    fault.write_text("hold")
    first: dict[str, httpx.Response] = {}
    holder = threading.Thread(target=lambda: first.update(reply=post(served, "/predict", {"features": row})))
    holder.start()
    try:
        deadline = time.monotonic() + 60
        while post(served, "/status", {}, headers=AUTH).json()["queue"]["computing_rows"] < 1:
            assert time.monotonic() < deadline, "the first request never reached the model"
            time.sleep(0.05)
        shed = post(served, "/predict", {"features": row})
    finally:
        fault.unlink()
        holder.join(60)
    assert shed.status_code == 503, shed.text
    assert shed.json()["error"] == "overloaded" and int(shed.headers["retry-after"]) >= 1
    assert first["reply"].status_code == 200
    assert post(served, "/status", {}, headers=AUTH).json()["shed"] >= 1
    metrics = httpx.get(f"{served.url}/metrics").text
    assert 'nb2prod_shed_total{deployment="credit",version="credit-v1"}' in metrics


def test_model_failures_are_answered_never_500_and_probes_follow(served: Served) -> None:
    row = sample_rows(served.folder)[3]
    fault = served.folder / "FAULT"
    fault.write_text("raise")
    try:
        replies = [post(served, "/predict", {"features": row}) for _ in range(12)]
        assert {r.status_code for r in replies} == {200}
        assert all(r.json()["fallback"] for r in replies)
        assert replies[0].json()["fallback_reason"] == "model_error: RuntimeError: injected model failure"
        assert httpx.get(f"{served.url}/readyz").status_code == 503  # error rate above the threshold
        assert httpx.get(f"{served.url}/livez").status_code == 200  # but the service answers (fallback)
        fault.write_text("slow 3.0")
        slow = post(served, "/predict", {"features": row})
        assert slow.status_code == 200 and slow.json()["fallback"]
    finally:
        fault.unlink()
    deadline = time.monotonic() + 20
    while httpx.get(f"{served.url}/readyz").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert httpx.get(f"{served.url}/readyz").status_code == 200
    assert post(served, "/predict", {"features": row}).json()["fallback"] is False


def test_metrics_by_version_on_the_service_metrics_endpoint(served: Served) -> None:
    row = sample_rows(served.folder)[4]
    post(served, "/predict", {"features": {**row, "age": 120}})
    text = httpx.get(f"{served.url}/metrics").text
    labels = 'deployment="credit",version="credit-v1"'
    for series in (
        f'nb2prod_predictions_total{{answered_by="model",{labels}}}',
        f"nb2prod_prediction_latency_seconds_count{{{labels}}}",
        f'nb2prod_guardrail_violations_total{{{labels.split(",")[0]},feature="age",{labels.split(",")[1]}}}',
        f'nb2prod_fallbacks_total{{{labels.split(",")[0]},reason="guardrails",{labels.split(",")[1]}}}',
        f"nb2prod_audit_rows_total{{{labels}}}",
    ):
        assert series in text, series


# schemathesis --checks all against this service: tests/hostile/test_openapi.py


def test_kill_9_under_load_loses_no_acknowledged_prediction(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Answers are sent only after their audit row is fsync'd: kill -9 the service under load, restart, count."""
    from nb2prod.runtime import GuardedRuntime

    home = tmp_path_factory.mktemp("kill9")
    folder = build_deployment(home / "deployments", version_id="credit-k9")
    blocked = home / "db-not-ready"
    blocked.write_text("the database is down: every acknowledged row exists only in the spool")
    service = serve(folder, home, f"sqlite:///{blocked / 'x.db'}")
    rows = sample_rows(folder)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + 4.0

    def client(k: int) -> None:
        with httpx.Client(timeout=10) as http:
            i = k
            while time.monotonic() < stop:
                try:
                    # Client ids reused across requests (and the restart): every answer must still be stored.
                    reply = http.post(f"{service.url}/predict", json={"features": rows[i % len(rows)], "request_id": f"order-{i % 3}"})
                except httpx.HTTPError:
                    return  # the server died mid-request: that answer was never received
                if reply.status_code == 200:
                    with lock:
                        acknowledged.append(reply.json()["request_id"])
                i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    try:
        for t in threads:
            t.start()
        time.sleep(2.5)
        service.kill9()  # mid-load
        for t in threads:
            t.join(15)
    finally:
        service.stop()
    assert len(acknowledged) >= 10, service.log.read_text()[-2000:]
    good = f"sqlite:///{home / 'nb2prod.db'}"
    spool = home / "spool" / "credit" / "credit-k9"  # the service's NB2PROD_HOME: outside the deployment folder
    restarted = GuardedRuntime.load(folder, store_url=good, spool_dir=spool)  # the service's start-up path: replays the spool
    try:
        deadline = time.monotonic() + 30
        while restarted.writer.replayed < len(acknowledged) and time.monotonic() < deadline:
            time.sleep(0.2)
        with Store.open(good) as store:
            missing = [i for i in acknowledged if not store.audit.exists(i)]
    finally:
        restarted.close()
    assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged predictions lost"
    assert restarted.writer.replayed >= len(acknowledged)
