"""The full-width monitoring dashboard in a real JupyterLab (headless Chromium) on seeded traffic.

Runs before the panel tests (file order), while the first deployed version of ``credit`` is live.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_panels import open_lab, run, shot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TIME_CHARTS = ("dataset", "feature", "concept", "estimated", "latency")

# Every text element the dashboard shows, as [selector, scrollWidth, clientWidth] for those wider than their box.
CLIPPED = """root => [...root.querySelectorAll(
    '.jp-nb2prod-tile-label, .jp-nb2prod-tile-value, .jp-nb2prod-dash-head > *, .jp-nb2prod-stat span, .jp-nb2prod-stat strong, '
    + 'h2, h3, td, th, select, .jp-nb2prod-chart-empty, .jp-nb2prod-chart, .jp-nb2prod-grid')]
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map(e => [e.className || e.tagName, e.textContent.slice(0, 60), e.scrollWidth, e.clientWidth])"""

# SVG text outside its chart (clipped) or on top of another text (overlapping), per chart.
SVG_TEXT = """root => {
  const out = [];
  for (const svg of root.querySelectorAll('.jp-nb2prod-chart svg')) {
    const box = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll('text')]
      .filter(t => t.textContent.trim() && getComputedStyle(t).opacity !== '0' && t.getAttribute('opacity') !== '0');
    const rects = texts.map(t => [t.textContent, t.getBoundingClientRect()]);
    for (const [text, r] of rects) {
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) out.push(['clipped', text]);
    }
    for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) {
      const a = rects[i][1], b = rects[j][1];
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) out.push(['overlap', rects[i][0], rects[j][0]]);
    }
  }
  return out;
}"""


def _show(page: Any, window: str, buckets: int) -> Any:
    dash = page.locator("#nb2prod-dashboard")
    dash.locator("select[title=Window]").select_option(window)
    page.wait_for_function(
        f"() => (document.querySelector('#nb2prod-dashboard .jp-nb2prod-dash-head') || {{}}).textContent?.includes('{buckets} buckets')",
        timeout=60_000,
    )
    dash.locator(".jp-nb2prod-chart-latency svg").wait_for()
    page.wait_for_timeout(300)  # vega lays out text after the svg appears
    return dash


def _check(page: Any, dash: Any, lab: Any, window: str) -> None:
    live = lab.seeded["live"]
    head = dash.locator(".jp-nb2prod-dash-head").inner_text()
    assert live.removeprefix("credit-") in head and "live" in head, head
    assert dash.locator(".jp-nb2prod-dash-head .jp-nb2prod-id").get_attribute("data-full") == live
    assert dash.locator("select[title=Version]").input_value() == live
    assert dash.locator("[data-tile=predictions] strong").inner_text().isdigit()
    for chart in TIME_CHARTS:
        charts = dash.locator(f".jp-nb2prod-chart-{chart}")
        assert charts.count() >= 1, f"{window}: no {chart} chart"
        for i in range(charts.count()):
            points = charts.nth(i).locator("svg .mark-symbol.role-mark path").count()
            assert points > 1, f"{window}: {chart} chart #{i} draws {points} point(s)"
    assert dash.locator(".jp-nb2prod-chart-traffic svg .mark-rect.role-mark path").count() > 1
    assert dash.locator(".jp-nb2prod-chart-empty").count() == 0, dash.locator(".jp-nb2prod-chart-empty").all_inner_texts()
    root = dash.element_handle()
    assert page.evaluate(CLIPPED, root) == []
    assert page.evaluate(SVG_TEXT, root) == []


def test_dashboard_shows_one_version_at_an_hour_and_a_day_without_clipping(page: Any, lab: Any) -> None:
    open_lab(page, lab)
    assert page.evaluate("() => window.jupyterapp.commands.label('nb2prod:open-dashboard')") == "nb2prod: Open Monitoring Dashboard"
    run(page, "nb2prod:open-deployments")
    section = page.locator("#nb2prod-deployments-panel .jp-nb2prod-deployment[data-name=credit]")
    section.wait_for()
    section.locator(".jp-nb2prod-deployment-head .jp-nb2prod-open-dashboard").click()  # the side panel links into the dashboard
    dash = page.locator("#nb2prod-dashboard")
    dash.wait_for()
    page.wait_for_function("() => document.querySelector('#nb2prod-dashboard select[title=Deployment]')?.value === 'credit'")
    for window, buckets in (("1h", 12), ("1d", 24)):
        dash = _show(page, window, buckets)
        _check(page, dash, lab, window)
        shot(page, f"dashboard-{window}")
        dash.locator(".jp-nb2prod-dash-operations").scroll_into_view_if_needed()
        shot(page, f"dashboard-{window}-operations")
        dash.locator(".jp-nb2prod-dash-shadow").scroll_into_view_if_needed()
        shot(page, f"dashboard-{window}-shadow")
    # the shadow comparison shows timeouts apart from errors and the compared share
    assert dash.locator(".jp-nb2prod-dash-shadow [data-stat=timeouts] strong").inner_text().startswith("0")
    assert dash.locator(".jp-nb2prod-dash-shadow [data-stat=completeness] strong").inner_text().startswith("400 / 400")

    # narrow main area (side panel open and wide): the layout reflows, still nothing clipped
    page.set_viewport_size({"width": 900, "height": 950})
    page.wait_for_function(  # the dashboard redraws at the new width (titles re-wrap)
        "() => { const d = document.querySelector('#nb2prod-dashboard .jp-nb2prod-dashboard'); return d.dataset.drawnWidth === String(d.clientWidth); }"
    )
    page.wait_for_timeout(300)
    shot(page, "dashboard-1d-narrow")
    root = dash.element_handle()
    assert page.evaluate(CLIPPED, root) == []
    assert page.evaluate(SVG_TEXT, root) == []
    wider = """root => { const right = root.getBoundingClientRect().right;
      return [...root.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > right + 1 && getComputedStyle(e).position !== 'fixed')
        .map(e => [e.tagName, e.className.baseVal ?? e.className, Math.round(e.getBoundingClientRect().right - right)]).slice(0, 8); }"""
    assert page.evaluate(wider, dash.locator(".jp-nb2prod-dashboard").element_handle()) == []
