"""The end-to-end demo behind the README's main command, on embedded defaults.

Build → deploy → serve → monitor → retrain, with notebooks as the unit of work: lint the example
notebook, train and deploy it with papermill, serve it on 127.0.0.1, replay traffic (a drift
scenario included) with feedback labels, show drift / concept drift / fairness, show the data
contract stopping a broken dataset, retrain with papermill on fresh data plus the feedback, run
the candidate in shadow, compare, and promote or refuse. Every service it starts is stopped.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from nb2prod.api import Workspace
from nb2prod.errors import Nb2prodError
from nb2prod.judgement import judge

__all__ = ["Replay", "example_notebook", "replay_traffic", "run_demo"]

NAME = "credit"


def example_notebook() -> Path:
    """The example notebook: from a source checkout, else the copy shipped in the package."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "example_notebooks" / "credit_default.ipynb", here.parent / "examples" / "credit_default.ipynb"):
        if candidate.exists():
            return candidate
    from nb2prod.errors import NotFoundError

    raise NotFoundError("the example notebook is missing from this install", fix="run the demo from a source checkout")


def _post(url: str, body: Any, timeout: float = 30.0, token: str | None = None) -> tuple[int, Any]:
    data = json.dumps(body, default=lambda v: v.item() if hasattr(v, "item") else str(v)).encode("utf-8")
    headers = {"content-type": "application/json"}
    token = token or os.environ.get("NB2PROD_SERVICE_TOKEN")
    if token:  # the service wants it on /feedback and /status (nb2prod serve gives it the workspace's token)
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None


class Replay:
    """What a traffic replay did: requests answered, labels sent, and whether the service audits them."""

    def __init__(self) -> None:
        self.answered = 0
        self.failed = 0
        self.labelled = 0
        self.audited = True
        self.errors: list[str] = []


def replay_traffic(url: str, rows: Iterable[dict[str, Any]], labels: Iterable[Any] | None = None, *,
                   label_share: float = 1.0, workers: int = 4, token: str | None = None) -> Replay:
    """POST each row to ``url``/predict (guarded service protocol) and report the label of a share back to /feedback.

    Falls back to the minimal service's batch protocol (``{"rows": [...]}``, no audit log, no
    feedback endpoint) and says so in ``Replay.audited``.
    """
    rows = list(rows)
    truths = list(labels) if labels is not None else [None] * len(rows)
    out = Replay()
    if not rows:
        return out
    status, body = _post(f"{url}/predict", {"features": rows[0]})
    if status >= 400 and isinstance(body, (dict, list)) and "rows" in json.dumps(body):
        out.audited = False
        for start in range(0, len(rows), 100):
            status, body = _post(f"{url}/predict", {"rows": rows[start:start + 100]})
            if status == 200:
                out.answered += len(body.get("predictions", []))
            else:
                out.failed += len(rows[start:start + 100])
                out.errors.append(f"HTTP {status}")
        return out
    every = max(1, round(1 / label_share)) if label_share > 0 else 0

    def one(i: int) -> tuple[bool, bool]:
        code, answer = (status, body) if i == 0 else _post(f"{url}/predict", {"features": rows[i]})
        if code != 200 or not isinstance(answer, dict):
            if len(out.errors) < 5:
                out.errors.append(f"HTTP {code}: {str(answer)[:120]}")
            return False, False
        truth = truths[i]
        if every and truth is not None and i % every == 0 and answer.get("request_id"):
            code, _ = _post(f"{url}/feedback", {"request_id": answer["request_id"], "label": truth, "source": "nb2prod-demo"}, token=token)
            return True, code == 200
        return True, False

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for ok, labelled in pool.map(one, range(len(rows))):
            out.answered += ok
            out.failed += not ok
            out.labelled += labelled
    return out


def _frame_rows(frame: Any, target: str) -> tuple[list[dict[str, Any]], list[Any]]:
    return frame.drop(columns=[target]).to_dict(orient="records"), [int(v) for v in frame[target]]


def run_demo(workspace: Workspace, *, say: Callable[[str], None] = print, n_samples: int = 3_000,
             traffic: int = 300) -> dict[str, Any]:
    """Run the whole story on ``workspace`` and return where everything went (services are always stopped)."""
    started = time.perf_counter()
    try:
        return _story(workspace, say, n_samples, traffic, started)
    finally:
        stopped = workspace.stop(NAME) if workspace.store.registry.versions(NAME) else []
        if stopped:
            say(f"stopped {len(stopped)} service(s) this demo started")


def _story(ws: Workspace, say: Callable[[str], None], n_samples: int, traffic: int, started: float) -> dict[str, Any]:
    from nb2prod.examples.credit import TARGET, make_credit_data

    notebook = example_notebook()
    summary: dict[str, Any] = {"notebook": str(notebook)}
    steps = 9

    say(f"[1/{steps}] lint {notebook.name}")
    report = ws.lint_notebook(notebook)
    counts = {s: sum(f.severity == s for f in report.findings) for s in ("error", "warning", "info")}
    say(f"      {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info")

    say(f"[2/{steps}] train with papermill (n_samples={n_samples}) and deploy {NAME!r} (validation gate, fresh-process proof, Bento)")
    deployed = ws.deploy_notebook(
        notebook, name=NAME, holdout_vars=["X_test", "y_test"], parameters={"n_samples": n_samples, "seed": 42},
        protected=["gender"], favorable=0,
    )
    summary["v1"] = deployed.version_id
    say("      " + deployed.summary().replace("\n", "\n      "))
    ws.set_retrain_policy(NAME, max_age_days=30, on_alerts=("data drift", "concept drift"), auto_promote=True,
                          parameters={"n_samples": n_samples})

    say(f"[3/{steps}] serve {deployed.version_id} on 127.0.0.1")
    served = ws.serve(NAME)
    summary["url"] = served.url
    say(f"      {served.url} (pid {served.pid})")

    say(f"[4/{steps}] replay traffic: {traffic} ordinary applications, then {traffic} after an economic shift, with outcome labels")
    normal_rows, normal_y = _frame_rows(make_credit_data(traffic, seed=1001), TARGET)
    shifted_rows, shifted_y = _frame_rows(make_credit_data(traffic, seed=1002, scenario="economic_shift"), TARGET)
    token = ws.service_token()
    first = replay_traffic(served.url, normal_rows, normal_y, label_share=0.5, token=token)
    second = replay_traffic(served.url, shifted_rows, shifted_y, label_share=0.5, token=token)
    say(f"      answered {first.answered + second.answered}, failed {first.failed + second.failed}, "
        f"labels sent {first.labelled + second.labelled}" + (f"; e.g. {first.errors[0]}" if first.errors else ""))
    audited = first.audited and second.audited and ws.store.audit.count(NAME) > 0
    if not audited:
        say("      this service build does not write the audit log yet (minimal service): "
            "monitoring, feedback and shadow comparison have no rows to read")
    summary["traffic"] = {"answered": first.answered + second.answered, "labelled": first.labelled + second.labelled,
                          "audited": audited}

    say(f"[5/{steps}] monitoring: drift, concept drift, fairness, alerts")
    reports_dir = ws.settings.reports_dir
    if audited:
        _show_monitoring(ws, say, summary)
    else:
        say("      skipped: no audited predictions")

    say(f"[6/{steps}] retraining schedule (policy: max age 30 days, retrain on drift alerts, automatic promotion)")
    for item in ws.schedule():
        flag = "DUE" if item.due else "ok"
        say(f"      {item.name}: {flag} — " + ("; ".join(item.reasons) or f"live {item.live_version}, {item.age_days} days old"))

    say(f"[7/{steps}] CI/CD for data: a broken dataset is stopped before training")
    broken = make_credit_data(500, seed=7).drop(columns=["income"]).assign(region="atlantis")
    try:
        ws.retrain(NAME, data=broken)
        say("      unexpected: the broken dataset was accepted")
    except Nb2prodError as exc:
        say(f"      refused: {exc}")
        summary["contract_refusal"] = str(exc)

    say(f"[8/{steps}] retrain with papermill on fresh data + the service's feedback labels, deploy in shadow, shadow gate")
    fresh = make_credit_data(n_samples, seed=2026, scenario="economic_shift")

    def shadow_period(candidate: str) -> None:
        loaded = _wait_for_version(served.url, candidate, token)
        say(f"      candidate {candidate} in shadow" + ("" if loaded else " (the service has not loaded it yet)")
            + f"; replaying {traffic} requests so both models see the same traffic")
        rows, ys = _frame_rows(make_credit_data(traffic, seed=1003, scenario="economic_shift"), TARGET)
        replay_traffic(served.url, rows, ys, label_share=0.5, token=token)
        comparison = _settled_comparison(ws, candidate)
        # a shadow timeout is "not compared", never a candidate failure: the two are reported apart
        apart = (f"{comparison.candidate_errors} candidate error(s), {comparison.candidate_timeouts} shadow timeout(s)"
                 " (not compared)")
        if comparison.overall.n == 0:
            say(f"      no shadowed request produced a comparison yet ({apart}): the shadow gate has no evidence")
        else:
            complete = "" if comparison.completeness is None else f", completeness {comparison.completeness:.0%}"
            say(f"      agreement {comparison.overall.agreement:.3f} on {comparison.overall.n} compared requests; {apart}{complete}")

    result = ws.retrain(NAME, data=fresh, before_gate=shadow_period, check=False)
    summary["retrain"] = result.to_dict()
    for step in result.steps:
        say(f"      {step.step:<12} {step.status:<8} {textwrap.shorten(step.detail, 160, placeholder=' …')}")
    say(f"      outcome: {result.outcome}; live: {result.live_after}")

    say(f"[9/{steps}] where to look")
    say(f"      HTML reports:     {reports_dir}")
    say(f"      store:            {ws.store.url}")
    say(f"      history:          nb2prod versions {NAME}   |   nb2prod schedule   |   nb2prod runs")
    say(f"      panels:           NB2PROD_HOME={ws.settings.home} jupyter lab  (then open the nb2prod panels)")
    summary["seconds"] = round(time.perf_counter() - started, 1)
    say(f"demo finished in {summary['seconds']}s")
    return summary


def _wait_for_version(url: str, version_id: str, token: str | None, timeout_s: float = 60.0) -> bool:
    """Wait until the running service has picked up ``version_id`` from the store (it polls traffic every second)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status, body = _post(url + "/status", {}, token=token)
        if status == 200 and version_id in ((body or {}).get("rollout") or {}).get("loaded", []):
            return True
        time.sleep(0.5)
    return False


def _settled_comparison(ws: Workspace, candidate: str, timeout_s: float = 15.0) -> Any:
    """The shadow comparison once the service's off-path shadow writes have stopped arriving."""
    deadline = time.monotonic() + timeout_s
    comparison = ws.compare(NAME, candidate=candidate)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        again = ws.compare(NAME, candidate=candidate)
        if again.overall.n == comparison.overall.n:
            return again
        comparison = again
    return comparison


def _show_monitoring(ws: Workspace, say: Callable[[str], None], summary: dict[str, Any]) -> None:
    snapshot = ws.monitor(NAME, window="1h")
    drift, concept, fairness = snapshot.drift, snapshot.concept, snapshot.fairness
    if drift is not None:
        say(f"      data drift: {len(drift.drifted)}/{len(drift.features)} features drifted ({', '.join(drift.drifted[:6]) or 'none'})")
    judged = judge(snapshot)  # the same judgement the widget and the dashboard show
    if concept is not None:
        live = judged["live"]
        say(f"      concept drift: live {concept.metric} {live.value} → {live.state} ({live.reason})")
    if snapshot.estimated is not None:
        estimated = judged["estimated"]
        say(f"      estimated from scores alone: {snapshot.estimated.metric} {estimated.value} → {estimated.state} ({estimated.reason})")
    if fairness is not None:
        for attribute in fairness.attributes:
            ratio = "n/a" if attribute.di_ratio is None else f"{attribute.di_ratio:.3f}"
            say(f"      fairness: {attribute.attribute} disparate impact {ratio} → {attribute.verdict.replace('_', ' ')}")
    for note in snapshot.notes:
        say(f"      note: {note}")
    fired = [c for c in ws.evaluate_alerts(NAME) if c.status == "firing"]
    say(f"      alerts firing: {', '.join(c.rule.name for c in fired) or 'none'}")
    try:
        html = ws.report(NAME, window="1h")
        say(f"      Evidently report: {html.get('path', html)}")
    except Nb2prodError as exc:
        say(f"      Evidently report not written: {exc}")
    summary["monitoring"] = {"drifted": drift.drifted if drift else [], "alerts": [c.rule.name for c in fired]}
