"""The inline monitor widget and the deployment card render (SVG charts, no lab extension)."""

from __future__ import annotations

from nb2prod.widgets import deployment_card
from nb2prod.widgets.monitor import MonitorWidget, render_sections


def test_monitor_widget_renders_every_section(seeded):
    ws = seeded(scenario="economic_shift", n_live=1200)
    widget = MonitorWidget(ws, "credit", window="1h", live=False)
    try:
        report = widget.last_report
        assert report is not None and report.n == 1200
        assert "credit" in widget.header.value and "(6/14 features)" in widget.header.value
        assert 'data-commandlinker-command="nb2prod:open-dashboard"' in widget.header.value
        assert widget.sections["drift"].value.count("<svg") == 2
        assert "validation" in widget.sections["performance"].value and "<polygon" in widget.sections["performance"].value
        assert "four-fifths" in widget.sections["fairness"].value
        assert "p95" in widget.sections["operations"].value
        widget.window_box.value = "15m"
        assert widget.last_report.window == "15m"
        widget.every = 1.0
        widget.start()
        assert widget._thread is not None and widget._thread.is_alive()
    finally:
        widget.close()
    assert widget._thread is None


def test_monitor_widget_shows_errors_in_place(seeded):
    ws = seeded(scenario="none", n_live=50)
    widget = MonitorWidget(ws, "ghost", live=False)
    assert "no deployment named &#x27;ghost&#x27;" in widget.header.value and widget.last_report is None
    widget.close()


def test_sections_are_pure_html(seeded):
    ws = seeded(scenario="covariate_shift", n_live=600, labelled=0.0)
    parts = render_sections(ws.monitor("credit", window="1h"))
    assert set(parts) == {"header", "drift", "performance", "fairness", "operations"}
    assert "no labels" in parts["performance"]


def _result(**overrides):
    from nb2prod.models import DeployResult

    return DeployResult(**{
        "name": "credit", "version_id": "credit-v1", "deployment_dir": "/tmp/x", "bento_tag": "credit:abc", "model_tag": None,
        "url": "http://127.0.0.1:3000", "metrics": {"roc_auc": 0.8213, "accuracy": 0.79},
        "gate": [{"check": "threshold", "metric": "roc_auc", "value": 0.8213, "limit": 0.7, "passed": True}],
        "proof": {"rows": 200}, "warnings": ["holdout has 40 rows"], "duration_s": 7.2, **overrides,
    })


class _FakeWorkspace:
    def __init__(self, error=None):
        self.stopped, self.error = [], error

    def stop(self, ref):
        from nb2prod.models import ServeInfo

        if self.error:
            raise self.error
        self.stopped.append(ref)
        return [ServeInfo(name="credit", version_id="credit-v1", url="http://127.0.0.1:3000", port=3000, pid=1, bento_tag=None, started_at=0.0)]


def test_deployment_card_shows_the_result_and_falls_back_to_html():
    card = deployment_card(_result())
    for text in ("credit-v1", "http://127.0.0.1:3000", "roc_auc", "0.8213", "✔ roc_auc 0.8213 vs 0.7", "200 sample rows",
                 "holdout has 40 rows", "7.2 s"):
        assert text in card.body.value
    bundle = card._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/html"] == card.body.value and bundle["text/plain"].startswith("deployed credit-v1 in 7.2s")
    assert not card.stop_button.disabled
    assert deployment_card(_result(url=None)).stop_button.disabled  # nothing to stop
    assert deployment_card(_result().to_dict()).result == _result()  # a result's dict works too


def test_deployment_card_stops_its_service_and_reports_errors_in_place():
    from nb2prod.errors import StoreError

    ws = _FakeWorkspace()
    card = deployment_card(_result(), workspace=ws)
    card.stop_button.click()
    assert ws.stopped == ["credit:credit-v1"] and card.stop_button.disabled and "stopped http://127.0.0.1:3000" in card.status.value
    broken = deployment_card(_result(), workspace=_FakeWorkspace(StoreError("database is locked", fix="retry")))
    broken.stop_button.click()
    assert "cannot stop credit:credit-v1: database is locked" in broken.status.value and not broken.stop_button.disabled


def test_deployment_card_opens_and_closes_the_monitor(seeded):
    ws = seeded(scenario="none", n_live=200)
    card = deployment_card(_result(), workspace=ws)
    card.monitor_button.click()
    [monitor] = card.below.children
    assert isinstance(monitor, MonitorWidget) and monitor.last_report is not None and card.monitor_button.description == "Hide monitor"
    card.monitor_button.click()
    assert card.below.children == () and monitor._thread is None and card.monitor_button.description == "Monitor"
    card.close()


def test_load_ext_shows_deploy_results_as_the_card_in_a_kernel():
    from IPython.core.interactiveshell import InteractiveShell

    from nb2prod.magics import load_ipython_extension

    shell = InteractiveShell()  # a private shell, not the singleton other test modules start
    load_ipython_extension(shell)  # a terminal: no kernel, the text stays
    assert "application/vnd.jupyter.widget-view+json" not in shell.display_formatter.format(_result())[0]
    shell.kernel = object()
    try:
        load_ipython_extension(shell)
        data, _ = shell.display_formatter.format(_result())
        assert "application/vnd.jupyter.widget-view+json" in data and "credit-v1" in data["text/html"]
    finally:
        del shell.kernel


def test_demo_monitoring_lines_use_the_shared_judgement(seeded):
    from nb2prod.demo import _show_monitoring
    from nb2prod.judgement import judge

    ws = seeded(scenario="economic_shift", n_live=600)
    lines: list[str] = []
    _show_monitoring(ws, lines.append, {})
    judged = judge(ws.monitor("credit", window="1h"))
    concept = next(line for line in lines if "concept drift:" in line)
    assert f"{judged['live'].value} → {judged['live'].state}" in concept
    estimated = next(line for line in lines if "estimated from scores alone:" in line)
    assert f"→ {judged['estimated'].state} ({judged['estimated'].reason})" in estimated
