"""The panels in a real JupyterLab (headless Chromium) against a really deployed model with real audit data.

Order matters: the deployments test promotes the candidate after the drift and shadow panels read the
live version; the approval test runs last (it promotes the scorecard's shadow).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from lab_seed import LINT_NOTEBOOK, SCORECARD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"


def shot(page: Any, name: str) -> None:
    """Save a screenshot under tests/browser/screenshots/ (gitignored)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def open_lab(page: Any, lab: Any, path: str = "lab") -> None:
    page.goto(lab.lab_url(path))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell && document.querySelector('#jp-main-dock-panel')")
    page.wait_for_function("() => window.jupyterapp.commands.hasCommand('nb2prod:open-lint')")


def run(page: Any, command: str, args: str = "{}") -> None:
    page.evaluate(f"() => window.jupyterapp.commands.execute({command!r}, {args})")


def widen_right_sidebar(page: Any, pixels: int = 220) -> None:
    """Drag the handle between the main area and the right sidebar to the left, as a user would."""
    handles = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:not(.lm-mod-hidden)")
    box = handles.last.bounding_box()
    assert box is not None, "no visible handle next to the right sidebar"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - pixels, y, steps=8)
    page.mouse.up()


def rules(page: Any) -> list[str]:
    result: list[str] = page.locator("#nb2prod-lint-panel .jp-nb2prod-finding").evaluate_all("els => els.map(e => e.dataset.rule)")
    return result


def test_lint_panel_groups_findings_jumps_to_cells_relints_on_save_and_re_executes(page: Any, lab: Any) -> None:
    open_lab(page, lab, f"lab/tree/{LINT_NOTEBOOK}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    run(page, "nb2prod:open-lint")
    page.wait_for_selector("#nb2prod-lint-panel .jp-nb2prod-finding")
    panel = page.locator("#nb2prod-lint-panel")
    assert panel.locator(".jp-nb2prod-path").inner_text() == LINT_NOTEBOOK
    severities = panel.locator(".jp-nb2prod-group").evaluate_all("els => els.map(e => e.dataset.severity)")
    assert severities[0] == "error" and severities == sorted(severities, key=["error", "warning", "info"].index)
    assert {"hidden-state/use-before-define", "randomness/unseeded"} <= set(rules(page))
    assert "Errors (" in panel.locator(".jp-nb2prod-group[data-severity=error] h3").inner_text()
    shot(page, "lint-panel")

    # click a finding: its notebook cell (the 15th, below the fold) becomes active and visible
    finding = panel.locator(".jp-nb2prod-finding[data-rule='hidden-state/use-before-define']").first
    assert "cell 15" in finding.inner_text()
    finding.click()
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex === 14")
    active = page.locator(".jp-NotebookPanel .jp-Cell.jp-mod-active")
    active.wait_for()
    assert "total = offset + 1" in active.inner_text()
    page.wait_for_function(
        """() => { const c = document.querySelector('.jp-NotebookPanel .jp-Cell.jp-mod-active').getBoundingClientRect();
                   const v = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer').getBoundingClientRect();
                   return c.top >= v.top - 1 && c.bottom <= v.bottom + 1; }"""
    )
    shot(page, "lint-jump-to-cell")

    # seed the random draw and save: the panel lints again by itself
    page.evaluate(
        """() => { const nb = window.jupyterapp.shell.currentWidget;
                   nb.content.widgets[1].model.sharedModel.setSource('import numpy as np\\nnp.random.seed(0)\\nnoise = np.random.rand(10)');
                   return window.jupyterapp.commands.execute('docmanager:save'); }"""
    )
    page.wait_for_function(
        "() => ![...document.querySelectorAll('#nb2prod-lint-panel .jp-nb2prod-finding')].some(e => e.dataset.rule === 'randomness/unseeded')",
        timeout=30_000,
    )
    assert "hidden-state/use-before-define" in rules(page)

    # the re-execution check shows progress, then re-executed findings
    panel.get_by_text("Run the re-execution check").click()
    progress = panel.locator(".jp-nb2prod-progress progress")
    progress.wait_for(state="visible")
    assert "re-executing" in panel.locator(".jp-nb2prod-progress").inner_text()
    shot(page, "lint-re-execution-progress")
    page.wait_for_function("() => document.querySelector('#nb2prod-lint-panel .jp-nb2prod-summary').textContent.includes('re-executed')", timeout=240_000)
    assert panel.locator(".jp-nb2prod-progress").is_hidden()
    assert panel.locator(".jp-nb2prod-message").inner_text() == ""
    shot(page, "lint-re-executed")


def test_drift_panel_shows_drift_concept_fairness_and_refreshes_live(page: Any, lab: Any) -> None:
    open_lab(page, lab)
    run(page, "nb2prod:open-drift")
    panel = page.locator("#nb2prod-drift-panel")
    panel.wait_for()
    panel.locator(".jp-nb2prod-feature-list li").first.wait_for()
    # a compact summary at the side panel's default width: the version shown, judged figures, top features one line each
    served, history = lab.seeded["served_rows"], lab.seeded["history_rows"] + lab.seeded["shadow_rows"]
    assert panel.locator("[data-stat=predictions] strong").inner_text() == str(served + history)
    assert panel.locator(".jp-nb2prod-version-line code").get_attribute("title") == lab.seeded["live"]
    lines = panel.locator(".jp-nb2prod-feature-list li")
    assert 1 <= lines.count() <= 5
    drifted = panel.locator(".jp-nb2prod-feature-list li.jp-mod-warn").evaluate_all("rows => rows.map(r => r.dataset.feature)")
    assert drifted, "the shifted half of the traffic must show drifted features"
    assert all(" drifted (" in t for t in panel.locator(".jp-nb2prod-feature-list li.jp-mod-warn").all_inner_texts())
    assert panel.locator("[data-stat='live accuracy'] strong, [data-stat='live roc_auc'] strong").first.inner_text().count("[") == 1
    estimate = panel.locator("[data-stat=estimated]")
    assert estimate.locator("span").inner_text() == "estimated accuracy"
    assert re.fullmatch(r"0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]", estimate.locator("strong").inner_text())
    assert panel.locator(".jp-nb2prod-chart").count() == 0, "the charts live in the dashboard"
    clipped = panel.evaluate("""p => [...p.querySelectorAll(
        '.jp-nb2prod-stat span, .jp-nb2prod-stat strong, .jp-nb2prod-version-line, .jp-nb2prod-feature-list li, .jp-nb2prod-alerts li, h4, button')]
      .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1).map(e => [e.className || e.tagName, e.textContent])""")
    assert clipped == [], clipped
    assert panel.evaluate("p => p.scrollWidth <= p.clientWidth + 1"), "the summary must fit the side panel's default width"
    alerts = panel.locator(".jp-nb2prod-alerts").inner_text()
    assert "drift" in alerts or "No alerts" in alerts
    shot(page, "drift-panel")
    # "Open dashboard" opens the full-width dashboard on the same deployment and version
    panel.locator(".jp-nb2prod-open-dashboard-summary").click()
    page.locator("#nb2prod-dashboard").wait_for()
    page.wait_for_function("() => document.querySelector('#nb2prod-dashboard select[title=Deployment]')?.value === 'credit'")
    run(page, "nb2prod:open-drift")
    panel.wait_for()

    # new predictions reach the panel without reloading the page (driftRefreshSeconds = 3 in the test settings)
    from nb2prod.api import Workspace
    from nb2prod.models import AuditEvent

    ws = Workspace.open(lab.home)
    try:
        [template] = ws.store.audit.predictions("credit", limit=1)
        now = time.time()
        ws.store.audit.write([
            AuditEvent(request_id=f"late-{i}", name="credit", version_id=lab.seeded["live"], ts=now - i, inputs=template.inputs,
                       output=template.output, score=template.score, latency_ms=3.0)
            for i in range(40)
        ])
    finally:
        ws.close()
    page.wait_for_function(
        f"() => document.querySelector('#nb2prod-drift-panel [data-stat=predictions] strong').textContent === '{served + history + 40}'",
        timeout=30_000,
    )

    run(page, "apputils:change-theme", "{theme: 'JupyterLab Dark'}")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(4000)  # one more refresh in the dark theme
    background = page.evaluate("() => getComputedStyle(document.querySelector('#nb2prod-drift-panel')).backgroundColor")
    assert background not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    shot(page, "drift-panel-dark")
    run(page, "apputils:change-theme", "{theme: 'JupyterLab Light'}")


def percents(text: str) -> list[float]:
    """The percentages in a panel's text, as fractions."""
    return [float(p) / 100 for p in re.findall(r"(\d+(?:\.\d+)?)%", text)]


def near(shown: list[float], expected: list[float]) -> bool:
    """Shown to one decimal of a percent (JavaScript rounds halves up, Python to even)."""
    return len(shown) == len(expected) and all(abs(a - b) <= 0.00051 for a, b in zip(shown, expected, strict=True))


def test_shadow_panel_compares_live_and_shadow_on_the_same_requests(page: Any, lab: Any) -> None:
    comparison, shadow = lab.seeded["comparison"], lab.seeded["shadow"]
    open_lab(page, lab)
    run(page, "nb2prod:open-shadow")
    panel = page.locator("#nb2prod-shadow-panel")
    panel.wait_for()
    widen_right_sidebar(page)
    for chart in ("agreement", "flips", "scores", "segments"):
        panel.locator(f".jp-nb2prod-chart-{chart} svg").wait_for()
    # the deployment with a shadow is chosen first; the window defaults to "since the shadow started"
    assert panel.locator("select[title=Deployment]").input_value() == "credit"
    assert panel.locator("select[title=Window]").input_value() == "all"
    assert shadow.removeprefix("credit-") in panel.locator(".jp-nb2prod-shadow-versions").inner_text()
    overall = comparison["overall"]
    assert overall["n"] == lab.seeded["shadow_rows"] == 400
    agreement = panel.locator("[data-stat=agreement] strong").inner_text()
    assert re.fullmatch(r"\d+\.\d% \[\d+\.\d%, \d+\.\d%\]", agreement), agreement
    assert near(percents(agreement), [overall["agreement"], overall["low"], overall["high"]]), agreement
    assert panel.locator("[data-stat=requests] strong").inner_text() == "400"
    flips = sum(n for live, row in comparison["flip_matrix"].items() for cand, n in row.items() if live != cand)
    assert flips > 0 and panel.locator("[data-stat=flips] strong").inner_text() == str(flips)
    # the flip matrix heatmap: one rect per live × candidate decision, each labelled with its count
    cells = panel.locator(".jp-nb2prod-chart-flips svg .mark-rect.role-mark path")
    assert cells.count() == 4
    labels = panel.locator(".jp-nb2prod-chart-flips svg .mark-text.role-mark text").evaluate_all("els => els.map(e => e.textContent)")
    expected = sorted(str(comparison["flip_matrix"].get(a, {}).get(b, 0)) for a in ("0", "1") for b in ("0", "1"))
    assert sorted(labels) == expected
    # per-segment agreement: one point per gender with its interval
    segment_text = panel.locator(".jp-nb2prod-chart-segments svg").text_content() or ""
    assert "gender = female" in segment_text and "gender = male" in segment_text
    assert panel.locator(".jp-nb2prod-chart-segments svg .mark-symbol.role-mark path").count() == len(comparison["segments"]["gender"])
    # both score histograms, the labelled comparison and the gate's decision
    assert panel.locator(".jp-nb2prod-chart-scores svg .mark-rect.role-mark path").count() >= 10
    labelled = comparison["labelled"]
    assert labelled["n"] == 200
    assert near(percents(panel.locator("[data-stat=live-accuracy] strong").inner_text()), [labelled["live_accuracy"]])
    assert near(percents(panel.locator("[data-stat=candidate-accuracy] strong").inner_text()), [labelled["candidate_accuracy"]])
    assert f"On {labelled['n']} labelled requests" in panel.locator(".jp-nb2prod-labelled").inner_text()
    assert panel.locator(".jp-nb2prod-shadow-gate .jp-nb2prod-badge").inner_text() == lab.seeded["shadow_gate"].replace("_", " ")
    assert panel.locator(".jp-nb2prod-chart-agreement svg .mark-symbol.role-mark path").count() == 1  # the overall agreement
    assert panel.locator(".jp-nb2prod-chart-agreement svg .mark-rule.role-mark line").count() == 2  # its interval and the gate's limit
    assert panel.locator(".jp-nb2prod-message").inner_text() == ""
    shot(page, "shadow-panel")
    panel.locator(".jp-nb2prod-labelled").scroll_into_view_if_needed()
    shot(page, "shadow-panel-segments")

    run(page, "apputils:change-theme", "{theme: 'JupyterLab Dark'}")
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(4000)  # one live refresh (3 s in the test settings) redraws the charts in the dark theme's colours
    panel.locator(".jp-nb2prod-chart-flips svg").wait_for()
    shot(page, "shadow-panel-dark")
    run(page, "apputils:change-theme", "{theme: 'JupyterLab Light'}")


def test_deployments_panel_shows_versions_and_promotes_after_confirmation(page: Any, lab: Any) -> None:
    live, candidate = lab.seeded["live"], lab.seeded["candidate"]
    open_lab(page, lab)
    run(page, "nb2prod:open-deployments")
    section = page.locator("#nb2prod-deployments-panel .jp-nb2prod-deployment[data-name=credit]")
    section.wait_for()
    widen_right_sidebar(page, 120)
    assert section.locator(f".jp-nb2prod-version[data-version='{live}'] .jp-nb2prod-badge").inner_text() == "live"
    assert section.locator(f".jp-nb2prod-version[data-version='{candidate}'] .jp-nb2prod-badge").inner_text() == "candidate"
    assert "100%" in section.locator(".jp-nb2prod-traffic").inner_text()
    live_row = section.locator(f".jp-nb2prod-version[data-version='{live}']")
    assert "roc_auc" in live_row.locator(".jp-nb2prod-metrics").inner_text()
    live_row.locator("summary").click()
    record = live_row.locator(".jp-nb2prod-record dl").inner_text()
    assert "data" in record and "code" in record and "python 3." in record
    deploy_event = section.locator(".jp-nb2prod-event[data-action=deploy]").first
    assert "threshold roc_auc" in deploy_event.locator(".jp-nb2prod-gates").inner_text()
    assert "passed" in deploy_event.locator(".jp-nb2prod-gates").inner_text()
    shot(page, "deployments-panel")

    section.locator(f".jp-nb2prod-version[data-version='{candidate}'] .jp-nb2prod-promote").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    assert candidate.removeprefix("credit-") in dialog.inner_text()
    shot(page, "deployments-promote-confirmation")
    dialog.locator("button.jp-mod-warn").click()
    _wait_until_live(page, candidate)
    assert "is now live" in page.locator("#nb2prod-deployments-panel .jp-nb2prod-message").inner_text()
    assert section.locator(f".jp-nb2prod-version[data-version='{live}'] .jp-nb2prod-badge").inner_text() == "retired"
    retired = section.locator(f".jp-nb2prod-version[data-version='{live}']")
    assert retired.locator(".jp-nb2prod-promote, .jp-nb2prod-canary").count() == 0  # the server offers a retired version no promote
    assert retired.locator(".jp-nb2prod-rollback").inner_text() == "Roll back to"
    assert section.locator(".jp-nb2prod-event").first.get_attribute("data-action") == "promote"
    shot(page, "deployments-promoted")

    from nb2prod.api import Workspace

    with Workspace.open(lab.home) as ws:
        assert ws.store.registry.traffic("credit").live == candidate
        assert ws.store.registry.events("credit", limit=1)[0].reason == "promoted from the JupyterLab panel"


def _wait_until_live(page: Any, version: str) -> None:
    """Wait until the Deployments panel badges ``version`` live (after a confirmed promote or approve)."""
    page.wait_for_function(
        f"""() => {{ const b = document.querySelector("#nb2prod-deployments-panel .jp-nb2prod-version[data-version='{version}'] .jp-nb2prod-badge");
                     return b && b.textContent === 'live'; }}"""
    )


def test_approve_promotes_a_shadow_the_gate_sent_to_a_human_and_refusals_show(page: Any, lab: Any) -> None:
    base, full = lab.seeded["scorecard_live"], lab.seeded["scorecard_candidate"]
    open_lab(page, lab)
    run(page, "nb2prod:open-deployments")
    panel = page.locator("#nb2prod-deployments-panel")
    section = panel.locator(f".jp-nb2prod-deployment[data-name={SCORECARD}]")
    section.wait_for()
    widen_right_sidebar(page, 120)

    # a promote the shadow gate refuses shows the gate's message on the panel (credit's shadow is blocked)
    shadow = lab.seeded["shadow"]
    credit = panel.locator(".jp-nb2prod-deployment[data-name=credit]")
    assert credit.locator(f".jp-nb2prod-version[data-version='{shadow}'] .jp-nb2prod-badge").inner_text() == "shadow"
    assert credit.locator(".jp-nb2prod-approval").count() == 0  # blocked, not waiting for approval
    credit.locator(f".jp-nb2prod-version[data-version='{shadow}'] .jp-nb2prod-promote").click()
    page.locator(".jp-Dialog button.jp-mod-warn").click()
    message = panel.locator(".jp-nb2prod-message.jp-mod-error")
    message.wait_for()
    assert message.inner_text().startswith("shadow gate: blocked — ") and "\n" not in message.inner_text()
    shot(page, "deployments-gate-refused")

    # the scorecard is 40 days old under a 30-day expiry policy: the retrain badge says so
    badge = section.locator(".jp-nb2prod-retrain")
    assert badge.inner_text() == "expired" and badge.get_attribute("data-state") == "expired"
    assert "max age 30 days" in (badge.get_attribute("title") or "")

    # the gate's reasons and evidence, and the Approve button, on the shadow waiting for a human
    approval = section.locator(f".jp-nb2prod-approval[data-version='{full}']")
    assert "needs approval" in approval.locator(".jp-nb2prod-approval-head").inner_text()
    reasons = approval.locator(".jp-nb2prod-approval-reasons").inner_text()
    assert "disagrees on" in reasons and "significantly more accurate" in reasons
    evidence = approval.locator(".jp-nb2prod-approval-evidence").inner_text()
    assert f"shadowed requests: {lab.seeded['scorecard_rows']}" in evidence and "McNemar p=" in evidence
    approval.scroll_into_view_if_needed()
    shot(page, "deployments-approval")

    approval.locator(".jp-nb2prod-approve").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    assert "significantly more accurate" in dialog.inner_text() and full.removeprefix(f"{SCORECARD}-") in dialog.inner_text()
    dialog.locator(".jp-nb2prod-approve-reason").fill("full model approved: better on 500 labelled requests")
    shot(page, "deployments-approve-confirmation")
    dialog.locator("button.jp-mod-warn").click()
    _wait_until_live(page, full)
    assert "approved and now live" in panel.locator(".jp-nb2prod-message").inner_text()
    assert section.locator(f".jp-nb2prod-version[data-version='{base}'] .jp-nb2prod-badge").inner_text() == "retired"
    assert section.locator(".jp-nb2prod-approval").count() == 0 and section.locator(".jp-nb2prod-retrain").count() == 0
    shot(page, "deployments-approved")

    from nb2prod.api import Workspace

    with Workspace.open(lab.home) as ws:
        traffic = ws.store.registry.traffic(SCORECARD)
        assert (traffic.live, traffic.shadow) == (full, None)
        promote, gate = ws.store.registry.events(SCORECARD, limit=2)
        assert (promote.action, promote.version_id, promote.reason) == ("promote", full, "full model approved: better on 500 labelled requests")
        assert (gate.action, gate.evidence["verdict"]) == ("gate", "needs_approval")

    # with no shadow left, the shadow panel shows its empty state for the scorecard
    run(page, "nb2prod:open-shadow")
    shadow_panel = page.locator("#nb2prod-shadow-panel")
    shadow_panel.locator("select[title=Deployment] option[value=scorecard]").wait_for(state="attached")
    shadow_panel.locator("select[title=Deployment]").select_option(SCORECARD)
    page.wait_for_function("() => document.querySelector('#nb2prod-shadow-panel .jp-nb2prod-empty').textContent.includes('no shadow candidate')")
    assert shadow_panel.locator(".jp-nb2prod-shadow-body").is_hidden()
    assert shadow_panel.locator(".jp-nb2prod-message").inner_text() == ""
