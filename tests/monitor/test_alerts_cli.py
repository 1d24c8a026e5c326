"""Alert rules (declarative, recorded, cooldown, webhook), business metrics, the monitor snapshot and the CLI."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from nb2prod.cli import main
from nb2prod.errors import InvalidInputError, NotFoundError, UsageError
from nb2prod.models import AlertRule
from nb2prod.monitor.alerts import load_rules, parse_rules
from nb2prod.monitor.business import load_business_metric
from nb2prod.monitor.windows import parse_window


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def webhook():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Hook.received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_rules_files_are_validated(tmp_path: Path):
    good = tmp_path / "rules.yaml"
    good.write_text("rules:\n  - metric: drift.score\n    threshold: 0.2\n    window: 30m\n    min_count: 100\n")
    [rule] = load_rules(good)
    assert rule == AlertRule(name="drift.score > 0.2", metric="drift.score", threshold=0.2, window="30m", min_count=100)
    (tmp_path / "r.json").write_text(json.dumps([{"metric": "ops.error_rate", "op": ">=", "threshold": 0.1}]))
    assert load_rules(tmp_path / "r.json")[0].op == ">="
    with pytest.raises(InvalidInputError, match="numeric threshold"):
        parse_rules([{"metric": "x", "threshold": "high"}])
    with pytest.raises(InvalidInputError, match="bad op"):
        parse_rules([{"metric": "x", "threshold": 1, "op": "=>"}])
    with pytest.raises(InvalidInputError, match="bad window"):
        parse_rules([{"metric": "x", "threshold": 1, "window": "soon"}])
    with pytest.raises(InvalidInputError, match="unknown key"):
        parse_rules([{"metric": "x", "threshold": 1, "treshold": 2}])
    with pytest.raises(NotFoundError):
        load_rules(tmp_path / "nope.yaml")
    (tmp_path / "broken.yaml").write_text("rules: [\n")
    with pytest.raises(InvalidInputError, match="cannot parse"):
        load_rules(tmp_path / "broken.yaml")
    assert parse_window("90m") == 5400 and parse_window("all") is None
    with pytest.raises(UsageError):
        parse_window("-1h")


def test_firing_rules_are_recorded_posted_and_not_repeated(seeded, webhook):
    url, received = webhook
    ws = seeded(scenario="covariate_shift", n_live=1500, error_rate=0.08)
    rules = [
        AlertRule(name="drift", metric="drift.score", threshold=0.0, window="1h", min_count=100),
        AlertRule(name="errors", metric="ops.error_rate", threshold=0.05, window="1h", min_count=100),
        AlertRule(name="latency", metric="ops.latency_p95_ms", threshold=250, window="1h"),
        AlertRule(name="too few", metric="drift.score", threshold=0.0, window="1h", min_count=10_000),
        AlertRule(name="typo", metric="drift.scor", threshold=0.0, window="1h"),
    ]
    checks = ws.evaluate_alerts("credit", rules, webhook=url)
    status = {c.rule.name: c.status for c in checks}
    assert status == {"drift": "firing", "errors": "firing", "latency": "ok", "too few": "insufficient_data", "typo": "no_value"}
    stored = ws.alerts("credit")
    assert {a.rule for a in stored} == {"drift", "errors"} and all(a.delivered for a in stored)
    assert len(received) == 2 and {r["rule"]["name"] for r in received} == {"drift", "errors"}
    assert "credit" in received[0]["text"]
    again = ws.evaluate_alerts("credit", rules[:2], webhook=url)
    assert all(c.status == "firing" and "cooldown" in c.note for c in again)
    assert len(ws.alerts("credit")) == 2 and len(received) == 2


def test_unreachable_webhook_keeps_the_alert(seeded):
    ws = seeded(scenario="covariate_shift", n_live=500)
    [check] = ws.evaluate_alerts("credit", [AlertRule(name="d", metric="drift.score", threshold=0.0)],
                                 webhook="http://127.0.0.1:9/none")
    assert check.status == "firing" and "webhook failed" in check.note
    assert ws.alerts("credit")[0].delivered is False


def test_business_metric_over_audit_rows_and_feedback(seeded, tmp_path: Path):
    ws = seeded(scenario="none", n_live=800)

    def loss_avoided(rows):
        caught = (rows["output"] == 1) & (rows["label"] == 1)
        return float((rows.loc[caught, "loan_amount"]).sum())

    report = ws.monitor("credit", window="1h", business={"loss_avoided": loss_avoided})
    assert report.business["loss_avoided"] > 0
    assert report.metrics["business.loss_avoided"] == report.business["loss_avoided"]
    module = tmp_path / "biz.py"
    module.write_text("def mean_outcome(rows):\n    return rows['outcome'].mean()\n")
    name, fn = load_business_metric(f"{module}:mean_outcome")
    assert name == "mean_outcome" and callable(fn)
    with pytest.raises(UsageError):
        load_business_metric("no-colon")
    with pytest.raises(InvalidInputError, match="failed"):
        ws.monitor("credit", business={"bad": lambda rows: rows["nope"].sum()})


def test_snapshot_metrics_cover_every_section(seeded):
    ws = seeded(scenario="economic_shift", n_live=1200)
    report = ws.monitor("credit", window="1h")
    for key in ("drift.score", "concept.score", "estimated.accuracy", "estimated.score", "fairness.di_ratio", "ops.latency_p95_ms",
                "ops.fallback_rate"):
        assert key in report.metrics
    assert len(report.drift_timeline) == 12 and any(w.value for w in report.drift_timeline)
    json.dumps(report.to_dict())  # JSON-ready
    with pytest.raises(NotFoundError):
        ws.monitor("nobody")


def test_cli_monitor_drift_and_errors(seeded, tmp_path: Path, capsys):
    ws = seeded(scenario="covariate_shift", n_live=800)
    home = str(ws.settings.home)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"name": "drift", "metric": "drift.score", "threshold": 0.0}]))
    assert main(["--home", home, "monitor", "credit", "--rules", str(rules)]) == 0
    out, err = capsys.readouterr()
    assert "data drift:" in out and "concept drift:" in out and "operations:" in out
    assert "estimated performance (no labels needed): accuracy 0.7" in out and "degraded" in out
    assert "FIRING" in err and "drift.score" in err
    assert main(["--home", home, "monitor", "credit", "--json", "--no-alerts", "--watch", "1", "--max-iterations", "1"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["drift"]["detected"] is True and "metrics" in data
    assert main(["--home", home, "drift", "credit", "--window", "2h"]) == 0
    assert "DRIFT" in capsys.readouterr().out
    assert main(["--home", home, "drift", "credit", "--window", "soon"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["--home", home, "monitor", "ghost"]) == 3
    assert "no deployment named 'ghost'" in capsys.readouterr().err
    assert main(["--home", home, "monitor", "credit", "--rules", str(tmp_path / "none.yaml")]) == 3



def test_cli_drift_shows_no_feature_table_for_a_handful_of_rows(seeded, capsys):
    """One prediction gave every feature PSI ≈ 8 in a table under "0/14 features drifted"."""
    ws = seeded(scenario="covariate_shift", n_live=3)
    assert main(["--home", str(ws.settings.home), "drift", "credit", "--window", "2h"]) == 0
    out = capsys.readouterr().out
    assert "0/14 features drifted" in out and "not enough data (n=3)" in out and "from 30 predictions" in out
    assert "psi" not in out and "income" not in out

@pytest.mark.slow
def test_cli_report_writes_evidently_html(seeded, tmp_path: Path, capsys):
    ws = seeded(scenario="covariate_shift", n_live=600)
    target = tmp_path / "drift.html"
    assert main(["--home", str(ws.settings.home), "report", "credit", "--html", str(target), "--window", "1h"]) == 0
    assert target.stat().st_size > 10_000
    assert "columns drifted" in capsys.readouterr().out
