"""The panels in a real JupyterLab (headless Chromium) against a really deployed model with real audit data.

Order matters: the deployments test promotes the candidate last, after the drift panel read the live version.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from lab_seed import LINT_NOTEBOOK

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
    widen_right_sidebar(page)
    for chart in ("features", "dataset", "concept", "fairness"):
        panel.locator(f".jp-nb2prod-chart-{chart} svg").wait_for()
    served, history = lab.seeded["served_rows"], lab.seeded["history_rows"]
    assert panel.locator("[data-stat=predictions] strong").inner_text() == str(served + history)
    drifted = panel.locator(".jp-nb2prod-feature-table tr.jp-mod-warn").evaluate_all("rows => rows.map(r => r.dataset.feature)")
    assert drifted, "the shifted half of the traffic must show drifted features"
    assert panel.locator("[data-stat='live accuracy'] strong, [data-stat='live roc_auc'] strong").first.inner_text().count("[") == 1
    # the per-feature chart draws one line per feature and the dashed threshold rule
    assert panel.locator(".jp-nb2prod-chart-features svg .mark-line.role-mark path").count() >= 2
    assert panel.locator(".jp-nb2prod-chart-features svg .mark-rule.role-mark line").count() == 1
    assert "drift" in panel.locator(".jp-nb2prod-alerts").inner_text() or "no alerts" in panel.locator(".jp-nb2prod-alerts").inner_text()
    shot(page, "drift-panel")

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
    page.locator("#nb2prod-drift-panel .jp-nb2prod-chart-features svg").wait_for()
    page.wait_for_timeout(4000)  # one more refresh draws the charts in the dark theme's colours
    background = page.evaluate("() => getComputedStyle(document.querySelector('#nb2prod-drift-panel')).backgroundColor")
    assert background not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    shot(page, "drift-panel-dark")
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
    page.wait_for_function(
        f"""() => {{ const b = document.querySelector("#nb2prod-deployments-panel .jp-nb2prod-version[data-version='{candidate}'] .jp-nb2prod-badge");
                     return b && b.textContent === 'live'; }}"""
    )
    assert "is now live" in page.locator("#nb2prod-deployments-panel .jp-nb2prod-message").inner_text()
    assert section.locator(f".jp-nb2prod-version[data-version='{live}'] .jp-nb2prod-badge").inner_text() == "retired"
    assert section.locator(".jp-nb2prod-event").first.get_attribute("data-action") == "promote"
    shot(page, "deployments-promoted")

    from nb2prod.api import Workspace

    with Workspace.open(lab.home) as ws:
        assert ws.store.registry.traffic("credit").live == candidate
        assert ws.store.registry.events("credit", limit=1)[0].reason == "promoted from the JupyterLab panel"
