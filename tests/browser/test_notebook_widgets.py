"""The notebook widgets rendered in a real JupyterLab: `%nb2prod monitor` on the seeded deployment's audit data."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from test_panels import open_lab, run, shot

from nb2prod.api import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _notebook(*sources: str) -> str:
    cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {}, "outputs": [], "source": s}
             for i, s in enumerate(sources)]
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                       "nbformat": 4, "nbformat_minor": 5})


def _run_notebook(page: Any, lab: Any, filename: str, *sources: str) -> None:
    """Write a notebook of these cells into the lab's root, open it, wait for its kernel, run all."""
    (lab.root / filename).write_text(_notebook(*sources))
    open_lab(page, lab, f"lab/tree/{filename}")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell")
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget; const k = w && w.sessionContext.session && w.sessionContext.session.kernel;"
        " return k && k.status === 'idle'; }",
        timeout=120_000,
    )
    run(page, "notebook:run-all-cells")


def test_monitor_widget_renders_tabs_and_charts_in_jupyterlab(page: Any, lab: Any) -> None:
    _run_notebook(page, lab, "monitor_widget.ipynb", "%load_ext nb2prod", "%nb2prod monitor credit --window 1d --static")
    widget = page.locator(".jp-OutputArea-output .widget-tab")
    widget.wait_for(timeout=120_000)
    tabs = page.locator(".jp-OutputArea-output .lm-TabBar-tab").all_inner_texts()
    assert [t.strip() for t in tabs] == ["Data drift", "Performance", "Fairness", "Operations"]
    page.wait_for_selector(".jp-OutputArea-output .widget-html svg", timeout=60_000)  # a chart was drawn
    text = page.locator(".jp-OutputArea-output").last.inner_text()
    assert "credit" in text and "Traceback" not in text
    shot(page, "monitor-widget-drift")
    page.locator(".jp-OutputArea-output .lm-TabBar-tab", has_text="Fairness").click()
    shot(page, "monitor-widget-fairness")
    # the widget's link opens the full-width dashboard on the same deployment and window
    page.locator(".jp-OutputArea-output a.nb2prod-open-dashboard").click()
    page.wait_for_function("() => (document.querySelector('#nb2prod-dashboard .jp-nb2prod-dash-head') || {}).textContent?.includes('24 buckets')",
                           timeout=60_000)
    assert page.locator("#nb2prod-dashboard select[title=Window]").input_value() == "1d"


def _deploy_card(page: Any, lab: Any, filename: str, name: str, *sources: str) -> Any:
    """Run ``%load_ext nb2prod`` and ``sources`` in a new notebook; the deployment card of ``name`` it shows."""
    _run_notebook(page, lab, filename, "%load_ext nb2prod", *sources)
    card = page.locator(".jp-OutputArea-output .widget-vbox", has_text=f"nb2prod: deployed {name}").first
    card.wait_for(timeout=240_000)
    return card


def test_deploy_result_shows_as_the_card_and_opens_the_monitor(page: Any, lab: Any) -> None:
    result = (
        "from nb2prod.models import DeployResult\n"
        "DeployResult(name='credit', version_id='credit-v1', deployment_dir='.', bento_tag='credit:abc', model_tag=None,"
        " metrics={'roc_auc': 0.8213}, gate=[{'check': 'threshold', 'metric': 'roc_auc', 'value': 0.8213, 'limit': 0.7, 'passed': True}],"
        " proof={'rows': 200}, warnings=['holdout has 40 rows'], duration_s=7.2)"
    )
    card = _deploy_card(page, lab, "deploy_card.ipynb", "credit", result)
    assert "✔ roc_auc 0.8213 vs 0.7" in card.inner_text() and "not served" in card.inner_text()
    assert page.locator(".jp-OutputArea-output button", has_text="Stop service").is_disabled()
    page.locator(".jp-OutputArea-output button", has_text="Monitor").click()
    page.wait_for_selector(".jp-OutputArea-output .widget-tab", timeout=60_000)
    page.wait_for_selector(".jp-OutputArea-output .widget-html svg", timeout=60_000)
    assert page.locator(".jp-OutputArea-output button", has_text="Hide monitor").count() == 1
    shot(page, "deploy-card")


def test_a_real_deploy_shows_its_card_and_the_card_stops_the_service(page: Any, lab: Any) -> None:
    train = (
        "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
        "X = pd.DataFrame({'a': [float(i % 7) for i in range(300)], 'b': [float(i % 5) for i in range(300)]})\n"
        "y = ((X.a + X.b) > 5).astype(int)\nmodel = LogisticRegression().fit(X, y)"
    )
    try:
        card = _deploy_card(page, lab, "deploy_real.ipynb", "tiny", train, "%deploy model --name tiny --data X --target y --serve --quiet")
        url = card.locator("a").first.inner_text()
        with urllib.request.urlopen(url + "/readyz", timeout=5) as answer:
            assert answer.status == 200
        shot(page, "deploy-card-served")
        page.locator(".jp-OutputArea-output button", has_text="Stop service").click()
        page.locator(".jp-OutputArea-output", has_text=f"stopped {url}").first.wait_for(timeout=60_000)
        assert page.locator(".jp-OutputArea-output button", has_text="Stop service").is_disabled()
        with pytest.raises(OSError):
            urllib.request.urlopen(url + "/readyz", timeout=2)
    finally:
        Workspace.open(lab.home).stop("tiny")  # whatever happened above, no service outlives the test
