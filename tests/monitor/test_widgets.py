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
        assert "credit" in widget.header.value and "drift 6/14" in widget.header.value
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


def test_deployment_card_shows_identity_metrics_and_checks():
    card = deployment_card({
        "name": "credit", "version_id": "credit-v1", "url": "http://127.0.0.1:3000",
        "metrics": {"roc_auc": 0.8213, "accuracy": 0.79}, "checks": [{"name": "fresh-process proof", "ok": True}],
        "warnings": ["holdout has 40 rows"],
    })
    html = card.value
    for text in ("credit-v1", "http://127.0.0.1:3000", "roc_auc", "0.8213", "fresh-process proof", "holdout has 40 rows",
                 "%nb2prod monitor credit"):
        assert text in html
