"""Every nb2prod REST route against a seeded workspace: answers, path confinement, 4xx for client mistakes."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
import tornado.httpclient
from panel_seed import write_notebook

from nb2prod.api import Workspace
from nb2prod.models import AuditEvent


async def fetch_json(jp_fetch: Any, *parts: str, **kwargs: Any) -> Any:
    response = await jp_fetch("nb2prod", "api", *parts, **kwargs)
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def fetch_error(jp_fetch: Any, *parts: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with pytest.raises(tornado.httpclient.HTTPClientError) as err:
        await jp_fetch("nb2prod", "api", *parts, **kwargs)
    assert err.value.response is not None
    body = json.loads(err.value.response.body)
    assert body["message"], body
    return err.value.code, body


def post(body: Any) -> dict[str, Any]:
    return {"method": "POST", "body": body if isinstance(body, str) else json.dumps(body)}


# -- lint ---------------------------------------------------------------------------------------
async def test_lint_reports_findings_with_a_root_relative_path(jp_fetch: Any, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "work" / "demo.ipynb")
    report = await fetch_json(jp_fetch, "lint", params={"path": "work/demo.ipynb"})
    assert report["path"] == "work/demo.ipynb" and report["executed"] is False
    rules = {f["rule"] for f in report["findings"]}
    assert {"randomness/unseeded", "hidden-state/use-before-define", "portability/absolute-path"} <= rules, rules
    located = {f["rule"]: f for f in report["findings"]}
    assert located["hidden-state/use-before-define"]["cell_index"] == 2
    assert located["hidden-state/use-before-define"]["cell_id"] == "use-offset"
    assert str(jp_root_dir) not in json.dumps(report)


async def test_lint_post_without_run_is_static(jp_fetch: Any, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "demo.ipynb")
    report = await fetch_json(jp_fetch, "lint", **post({"path": "demo.ipynb"}))
    assert report["executed"] is False and report["findings"]


@pytest.mark.slow
async def test_lint_run_re_executes_the_notebook(jp_fetch: Any, jp_root_dir: Path) -> None:
    nb = {
        "nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [
            {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1, "outputs": [], "source": "print(undefined_name)"},
            # The saved output says 7, a fresh run prints 6: only running the notebook can tell.
            {
                "cell_type": "code", "id": "b", "metadata": {}, "execution_count": 2, "source": "print(3 + 3)",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "7\n"}],
            },
        ],
    }
    write_notebook(jp_root_dir / "broken.ipynb", nb)
    report = await fetch_json(jp_fetch, "lint", **post({"path": "broken.ipynb", "run": True}))
    assert report["executed"] is True
    found = {(f["rule"], f["cell_index"]) for f in report["findings"]}
    assert ("rerun/error", 0) in found and ("rerun/changed-output", 1) in found, found


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("../outside.ipynb", 400, "'..'"),
        ("work/../../outside.ipynb", 400, "'..'"),
        ("", 400, "path"),
        ("missing.ipynb", 404, "no such file"),
        (".hidden/demo.ipynb", 400, "hidden"),
    ],
)
async def test_lint_refuses_paths_outside_the_root(jp_fetch: Any, jp_root_dir: Path, path: str, status: int, words: str) -> None:
    write_notebook(jp_root_dir.parent / "outside.ipynb")
    write_notebook(jp_root_dir / ".hidden" / "demo.ipynb")
    code, body = await fetch_error(jp_fetch, "lint", params={"path": path})
    assert code == status and words in body["message"], body


async def test_lint_refuses_absolute_paths_and_symlinks_leaving_the_root(jp_fetch: Any, jp_root_dir: Path) -> None:
    outside = write_notebook(jp_root_dir.parent / "secret.ipynb")
    code, body = await fetch_error(jp_fetch, "lint", params={"path": str(outside)})
    assert code == 400 and "outside the server root" in body["message"]
    os.symlink(outside, jp_root_dir / "link.ipynb")
    code, body = await fetch_error(jp_fetch, "lint", params={"path": "link.ipynb"})
    assert code == 400 and "outside the server root" in body["message"]
    inside = write_notebook(jp_root_dir / "ok.ipynb")
    assert (await fetch_json(jp_fetch, "lint", params={"path": str(inside)}))["path"] == "ok.ipynb"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"params": {"path": "demo.ipynb", "run": "true"}}, "needs a POST"),
        ({"params": {"path": "demo.ipynb", "run": "maybe"}}, "not a boolean"),
        (post("{not json"), "not JSON"),
        (post([1, 2]), "JSON object"),
        (post({"path": "demo.ipynb", "run": "yes"}), "run must be true or false"),
        (post({"path": 7}), "path"),
    ],
)
async def test_lint_client_mistakes_are_400(jp_fetch: Any, jp_root_dir: Path, kwargs: dict[str, Any], words: str) -> None:
    write_notebook(jp_root_dir / "demo.ipynb")
    code, body = await fetch_error(jp_fetch, "lint", **kwargs)
    assert code == 400 and words in body["message"], body


async def test_lint_of_a_file_that_is_not_a_notebook_is_422(jp_fetch: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / "notes.ipynb").write_text("this is not json")
    code, body = await fetch_error(jp_fetch, "lint", params={"path": "notes.ipynb"})
    assert code == 422 and body["error"] == "bad_notebook"


# -- deployments -----------------------------------------------------------------------------------
async def test_deployments_list_versions_traffic_and_state(jp_fetch: Any, monitored: Workspace) -> None:
    body = await fetch_json(jp_fetch, "deployments")
    by_name = {d["name"]: d for d in body["deployments"]}
    assert set(by_name) == {"credit", "monitored"}
    credit = by_name["credit"]
    assert credit["traffic"]["live"] == "credit-v2"
    assert [(v["record"]["version_id"], v["state"], v["traffic_percent"]) for v in credit["versions"]] == [
        ("credit-v3", "refused", 0.0), ("credit-v2", "live", 100.0), ("credit-v1", "retired", 0.0)
    ]
    assert credit["events"] == []


async def test_deployment_detail_has_history_with_gate_evidence(jp_fetch: Any, seeded: Workspace) -> None:
    body = await fetch_json(jp_fetch, "deployments", "credit")
    assert [e["action"] for e in body["events"]] == ["gate_refused", "deploy", "deploy"]
    assert body["events"][0]["evidence"]["checks"][0]["passed"] is False
    assert body["versions"][1]["record"]["data_fingerprint"]["X_train"]["sha256"] == "d2"
    limited = await fetch_json(jp_fetch, "deployments", "credit", params={"history": "1"})
    assert len(limited["events"]) == 1


async def test_deployment_detail_says_which_actions_each_version_allows_and_what_a_rollback_does(
    jp_fetch: Any, seeded: Workspace
) -> None:
    body = await fetch_json(jp_fetch, "deployments", "credit")
    actions = {v["record"]["version_id"]: v["actions"] for v in body["versions"]}
    assert actions == {"credit-v3": [], "credit-v2": [], "credit-v1": ["rollback", "control"]}  # refused, live, retired
    assert (body["rollback_stops"], body["rollback_target"]) == (None, "credit-v1")
    body = await fetch_json(jp_fetch, "deployments", "credit", "canary", **post({"version": "credit-v1", "percent": 10}))
    assert (body["rollback_stops"], body["rollback_target"]) == ("credit-v1", None)
    assert {v["record"]["version_id"]: v["actions"] for v in body["versions"]}["credit-v1"] == ["promote", "shadow", "control"]


@pytest.mark.parametrize(("name", "status"), [("nosuch", 404), ("Bad_Name", 400)])
async def test_unknown_or_malformed_deployment(jp_fetch: Any, seeded: Workspace, name: str, status: int) -> None:
    code, _ = await fetch_error(jp_fetch, "deployments", name)
    assert code == status


async def test_promote_canary_and_rollback_move_traffic_and_record_who(jp_fetch: Any, seeded: Workspace) -> None:
    body = await fetch_json(jp_fetch, "deployments", "credit", "canary", **post({"version": "credit-v1", "percent": 10}))
    assert body["traffic"]["canary"] == "credit-v1" and body["traffic"]["canary_percent"] == 10
    shares = {v["record"]["version_id"]: (v["state"], v["traffic_percent"]) for v in body["versions"]}
    assert shares["credit-v1"] == ("canary", 10.0) and shares["credit-v2"] == ("live", 90.0)

    body = await fetch_json(jp_fetch, "deployments", "credit", "rollback", **post({}))
    assert body["traffic"]["canary"] is None and body["traffic"]["live"] == "credit-v2"
    assert body["events"][0]["action"] == "rollback" and "canary" in body["events"][0]["reason"]

    body = await fetch_json(jp_fetch, "deployments", "credit", "promote", **post({"version": "credit-v1", "reason": "v2 regressed"}))
    assert body["traffic"]["live"] == "credit-v1"
    event = body["events"][0]
    assert (event["action"], event["version_id"], event["reason"], event["evidence"]["previous"]) == ("promote", "credit-v1", "v2 regressed", "credit-v2")
    assert event["actor"]  # the Jupyter user
    assert seeded.store.registry.state("credit-v2").value == "retired"

    body = await fetch_json(jp_fetch, "deployments", "credit", "rollback", **post({}))
    assert body["traffic"]["live"] == "credit-v2"


async def test_canary_of_a_version_the_shadow_gate_blocked_needs_approve(jp_fetch: Any, seeded: Workspace) -> None:
    from nb2prod.models import RegistryEvent

    seeded.store.registry.record_event(RegistryEvent("credit", "gate", "credit-v1", "ana", "shadow gate: blocked",
                                                     evidence={"verdict": "blocked", "compared": 500}))
    code, body = await fetch_error(jp_fetch, "deployments", "credit", "canary", **post({"version": "credit-v1", "percent": 10}))
    assert code == 409 and "the shadow gate blocked credit-v1" in body["message"] and "--approve" in body["fix"]
    body = await fetch_json(jp_fetch, "deployments", "credit", "canary",
                            **post({"version": "credit-v1", "percent": 10, "approve": True}))
    assert body["traffic"]["canary"] == "credit-v1" and body["events"][0]["evidence"]["transition"]["gate"] == "approved"


@pytest.mark.parametrize(
    ("action", "payload", "status", "words"),
    [
        ("promote", {}, 400, "'version'"),
        ("promote", {"version": "credit-v2"}, 409, "already live"),
        ("promote", {"version": "credit-v3"}, 409, "refused by a gate"),
        ("promote", {"version": "credit-v9"}, 404, "no version"),
        ("canary", {"version": "credit-v1", "percent": 150}, 400, "between 0 and 100"),
        ("canary", {"version": "credit-v1", "percent": "ten"}, 400, "percent must be between 0 and 100"),
        ("canary", {"version": "credit-v1", "percent": True}, 400, "percent must be between 0 and 100"),
        ("canary", {"version": "credit-v1"}, 400, "percent must be between 0 and 100"),
        ("canary", {"version": "credit-v2", "percent": 5}, 409, "live already"),
        ("rollback", {"to": "credit-v2"}, 409, "already live"),
        ("rollback", {"to": ""}, 400, "'to'"),
    ],
)
async def test_traffic_mistakes_are_4xx_with_a_message(
    jp_fetch: Any, seeded: Workspace, action: str, payload: dict[str, Any], status: int, words: str
) -> None:
    code, body = await fetch_error(jp_fetch, "deployments", "credit", action, **post(payload))
    assert code == status and words in body["message"], body
    assert seeded.store.registry.traffic("credit").live == "credit-v2"  # nothing moved


async def test_rollback_with_no_earlier_version_is_409(jp_fetch: Any, monitored: Workspace) -> None:
    code, body = await fetch_error(jp_fetch, "deployments", "monitored", "rollback", **post({}))
    assert code == 409 and "no earlier live version" in body["message"]


# -- monitoring --------------------------------------------------------------------------------------
async def test_monitor_reports_drift_concept_fairness_and_operations(jp_fetch: Any, monitored: Workspace) -> None:
    body = await fetch_json(jp_fetch, "deployments", "monitored", "monitor", params={"window": "1d", "n_windows": "6"})
    assert body["n"] == 600
    drifted = {f["feature"] for f in body["drift"]["features"] if f["drifted"]}
    # covariate_shift moves age and purpose (income and employment_years follow age); gender is untouched
    assert {"age", "purpose"} <= drifted <= {"age", "purpose", "income", "employment_years"}, drifted
    assert "gender" in {f["feature"] for f in body["drift"]["features"]} and "gender" not in drifted
    concept = body["concept"]
    assert concept["n_labelled"] == 300 and concept["validation"] == pytest.approx({"roc_auc": 0.8, "accuracy": 0.75}[concept["metric"]])
    assert body["fairness"]["attributes"][0]["attribute"] == "gender"
    assert len(body["drift_timeline"]) == 6 and body["operations"]["overall"]["n"] == 600


async def test_drift_series_gives_per_feature_drift_per_window(jp_fetch: Any, monitored: Workspace) -> None:
    body = await fetch_json(jp_fetch, "deployments", "monitored", "drift", params={"window": "1d", "points": "4"})
    assert len(body["series"]) == 4
    ends = [s["until"] for s in body["series"]]
    assert ends == sorted(ends)
    assert all(s["features"] and s["n_current"] >= 30 for s in body["series"])


@pytest.mark.parametrize(
    ("parts", "params", "status"),
    [
        (("deployments", "monitored", "monitor"), {"window": "forever"}, 400),
        (("deployments", "monitored", "monitor"), {"n_windows": "0"}, 400),
        (("deployments", "monitored", "drift"), {"points": "many"}, 400),
        (("deployments", "monitored", "drift"), {"window": "1s"}, 404),
        (("deployments", "nosuch", "monitor"), {}, 404),
        (("deployments", "credit", "drift"), {}, 404),
        (("alerts",), {"limit": "-1"}, 400),
    ],
)
async def test_monitoring_mistakes_are_4xx(jp_fetch: Any, monitored: Workspace, parts: tuple[str, ...], params: dict[str, str], status: int) -> None:
    code, _ = await fetch_error(jp_fetch, *parts, params=params)
    assert code == status


async def test_alerts_list_newest_first_and_filter_by_name(jp_fetch: Any, monitored: Workspace) -> None:
    body = await fetch_json(jp_fetch, "alerts", params={"name": "monitored"})
    assert [(a["rule"], a["metric"]) for a in body["alerts"]] == [("drift", "drift.score")]
    assert (await fetch_json(jp_fetch, "alerts", params={"name": "credit"}))["alerts"] == []


# -- shadow (the comparison, served for a future shadow panel) ----------------------------------
async def test_shadow_comparison_of_live_and_shadow_answers(jp_fetch: Any, seeded: Workspace) -> None:
    code, body = await fetch_error(jp_fetch, "deployments", "credit", "shadow")
    assert code == 404 and "no shadow version" in body["message"]
    seeded.shadow("credit:credit-v1", actor="ana")
    now = time.time()
    seeded.store.audit.write([
        AuditEvent(request_id=f"s{i}", name="credit", version_id="credit-v2", ts=now - 100 + i, inputs={"region": "north" if i % 2 else "south"},
                   output=i % 2, score=0.3 + 0.4 * (i % 2), shadow_version="credit-v1", shadow_output=(i % 2) if i % 10 else 1 - i % 2,
                   shadow_score=0.32 + 0.4 * (i % 2))
        for i in range(100)
    ])
    body = await fetch_json(jp_fetch, "deployments", "credit", "shadow", params={"window": "1h"})
    assert (body["live_version"], body["candidate_version"]) == ("credit-v2", "credit-v1")
    assert sum(sum(row.values()) for row in body["flip_matrix"].values()) == 100
    assert len(body["live_scores"]) == len(body["candidate_scores"]) == 100
    code, _ = await fetch_error(jp_fetch, "deployments", "credit", "shadow", params={"window": "soon"})
    assert code == 400


def _shadow_with_labels(ws: Workspace, *, rows: int, live_wrong: int, candidate_wrong: int) -> None:
    """credit-v4 shadows credit-v2 on ``rows`` labelled requests: live wrong on the first ``live_wrong``, the candidate on the next ``candidate_wrong``."""
    from panel_seed import version_record

    from nb2prod.models import Feedback, VersionState

    ws.store.registry.add_version(version_record("credit", 4, None, auc=0.86), state=VersionState.CANDIDATE)
    ws.shadow("credit:credit-v4", actor="ana")
    now = time.time()
    events = []
    for i in range(rows):
        truth = i % 2
        live = 1 - truth if i < live_wrong else truth
        candidate = 1 - truth if live_wrong <= i < live_wrong + candidate_wrong else truth
        events.append(AuditEvent(request_id=f"a{i}", name="credit", version_id="credit-v2", ts=now + 0.001 * i,
                                 inputs={"gender": "female" if i % 3 else "male"}, output=live, score=0.2 + 0.6 * live,
                                 shadow_version="credit-v4", shadow_output=candidate, shadow_score=0.25 + 0.5 * candidate))
    ws.store.audit.write(events)
    ws.store.audit.add_feedback([Feedback(request_id=f"a{i}", label=i % 2, ts=now + 1) for i in range(rows)])


async def test_promote_of_a_shadow_the_gate_sends_for_approval_needs_approve_true(jp_fetch: Any, seeded: Workspace) -> None:
    _shadow_with_labels(seeded, rows=200, live_wrong=40, candidate_wrong=5)  # 22.5% divergence, candidate right on 40 of 45 discordant
    code, body = await fetch_error(jp_fetch, "deployments", "credit", "promote", **post({"version": "credit-v4"}))
    assert code == 409 and body["error"] == "gate_refused" and "needs_approval" in body["message"], body
    assert "--approve" in body["fix"] and body["evidence"]["verdict"] == "needs_approval"
    assert body["evidence"]["evidence"]["labelled"]["candidate_only"] == 40
    assert seeded.store.registry.traffic("credit").live == "credit-v2"

    body = await fetch_json(jp_fetch, "deployments", "credit", "promote", **post({"version": "credit-v4", "approve": True, "reason": "better on outcomes"}))
    assert body["traffic"]["live"] == "credit-v4" and body["traffic"]["shadow"] is None
    promote, gate = body["events"][0], body["events"][1]
    assert (promote["action"], promote["version_id"], promote["reason"]) == ("promote", "credit-v4", "better on outcomes")
    assert (gate["action"], gate["evidence"]["verdict"]) == ("gate", "needs_approval")
    assert seeded.store.registry.state("credit-v2").value == "retired"


async def test_approve_does_not_override_a_blocked_gate(jp_fetch: Any, seeded: Workspace) -> None:
    _shadow_with_labels(seeded, rows=60, live_wrong=20, candidate_wrong=0)  # too few shadowed requests: blocked
    code, body = await fetch_error(jp_fetch, "deployments", "credit", "promote", **post({"version": "credit-v4", "approve": True}))
    assert code == 409 and "blocked" in body["message"] and "only 60 shadowed requests" in body["message"], body
    assert seeded.store.registry.traffic("credit").live == "credit-v2"


@pytest.mark.parametrize("approve", ["yes", 1, None, [True]])
async def test_approve_must_be_a_boolean(jp_fetch: Any, seeded: Workspace, approve: Any) -> None:
    code, body = await fetch_error(jp_fetch, "deployments", "credit", "promote", **post({"version": "credit-v1", "approve": approve}))
    assert code == 400 and "approve must be true or false" in body["message"] and "\n" not in body["message"], body
    assert seeded.store.registry.traffic("credit").live == "credit-v2"
