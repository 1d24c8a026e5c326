"""``%nb2prod monitor NAME``: a live-updating drift / performance / fairness / operations widget.

Charts are inline SVG inside ``ipywidgets.HTML`` — no lab extension needed. Shaded bands are
95% intervals (bootstrap for the live metric, Katz for disparate impact).
"""

from __future__ import annotations

import html
import json
import threading
import time
from typing import Any

import ipywidgets as w

from nb2prod.errors import Nb2prodError
from nb2prod.judgement import Judgement, judge
from nb2prod.models import MonitorReport
from nb2prod.widgets.charts import band_chart, bar_chart

__all__ = ["MonitorWidget", "render_sections"]

_BADGE = '<span style="background:{bg};color:#fff;border-radius:3px;padding:1px 6px;margin-right:6px" title="{title}">{text}</span>'
# The same colour per state in the widget, the dashboard tiles and the side panels.
STATE_COLOURS = {"ok": "var(--jp-success-color1, #388e3c)", "warn": "var(--jp-warn-color1, #f57c00)",
                 "firing": "var(--jp-error-color1, #d32f2f)", "insufficient": "var(--jp-ui-font-color3, #757575)"}
_LABELS = {"drift": "drift", "live": "live", "estimated": "estimated", "fairness": "four-fifths", "errors": "errors", "fallback": "fallback"}


def _badge(j: Judgement) -> str:
    text = f"{_LABELS[j.metric]} {j.value}" if j.state != "insufficient" else f"{_LABELS[j.metric]}: {j.value}"
    return _BADGE.format(bg=STATE_COLOURS[j.state], text=html.escape(text), title=html.escape(f"{j.state}: {j.reason}"))


def _verdict(j: Judgement) -> str:
    word = {"ok": "ok", "warn": "worth a look", "firing": "degraded", "insufficient": j.value}[j.state]
    return f'<b style="color:{STATE_COLOURS[j.state]}">{html.escape(word)}</b> <span style="color:#777">({html.escape(j.reason)})</span>'


def _predictions(report: MonitorReport) -> str:
    """``N predictions``, naming how many are this version's when other versions answered in the window too."""
    mine = sum(v.n for v in report.operations.by_version if v.version_id == report.version_id)
    if mine == report.n:
        return f"{report.n} predictions"
    return f"{mine} predictions by this version ({report.n} by all versions: drift, fairness and operations count them all)"


def _dashboard_link(report: MonitorReport) -> str:
    """A link JupyterLab's command linker turns into "open the nb2prod dashboard" (inert outside JupyterLab)."""
    args = json.dumps({"name": report.name, "version": report.version_id, "window": report.window})
    return (f' <a href="#" class="nb2prod-open-dashboard" data-commandlinker-command="nb2prod:open-dashboard" '
            f'data-commandlinker-args="{html.escape(args)}">open the full dashboard</a>')


def _mid(start: float, end: float) -> float:
    return (start + end) / 2


def render_sections(report: MonitorReport) -> dict[str, str]:
    """HTML for the header and each tab of the widget (pure: testable without a kernel)."""
    d, c, f, o = report.drift, report.concept, report.fairness, report.operations
    judged = judge(report)
    badges = [_badge(j) for j in judged.values()]
    header = (
        f'<div style="font:13px sans-serif"><b>{html.escape(report.name)}</b> '
        f"<code>{html.escape(report.version_id or '')}</code> — window {html.escape(report.window)}, "
        f"{_predictions(report)}, refreshed {time.strftime('%H:%M:%S')} ({report.elapsed_ms:.0f} ms)<br>"
        + "".join(badges)
        + _dashboard_link(report)
        + "".join(f'<div style="color:#777">{html.escape(n)}</div>' for n in report.notes)
        + "</div>"
    )
    drift_html = "no reference sketches or no predictions"
    if d is not None and judged["drift"].state == "insufficient":
        # per-feature effects from a handful of rows are noise: say so rather than draw them
        drift_html = f"per-feature drift: {html.escape(judged['drift'].value)} ({html.escape(judged['drift'].reason)})"
    elif d is not None:
        drift_bars: list[tuple[str, float, float | None, float | None, bool]] = [
            (x.feature, x.effect, None, None, x.drifted) for x in sorted(d.features, key=lambda x: -x.effect)
        ]
        drift_html = bar_chart(
            drift_bars, title=f"effect size per feature (red: drifted, BH q ≤ {d.alpha:g})", threshold=d.min_effect, threshold_label="min effect"
        )
        drift_html += band_chart(
            [(_mid(m.start, m.end), m.value, None, None) for m in report.drift_timeline], title="share of drifted features per window", y_range=(0.0, 1.0)
        )
    perf_html = "no feedback labels yet"
    if c is not None and c.live is not None:
        perf_html = band_chart(
            [(_mid(m.start, m.end), m.value, m.low, m.high) for m in c.windows],
            title=f"live {c.metric} per window (95% bootstrap band)",
            reference=c.validation,
            counts=[m.n for m in c.windows],
        )
        perf_html += (
            f'<div style="font:12px sans-serif">live {c.metric} {c.live:.3f} '
            f"[{c.live_low:.3f}, {c.live_high:.3f}] on {c.n_labelled} labels vs validation "
            f"{c.validation if c.validation is None else round(c.validation, 3)} — {_verdict(judged['live'])}; "
            f"concept score {c.score if c.score is None else round(c.score, 4)}; "
            f"ADWIN changes {len(c.detections)}</div>"
        )
    elif c is not None:
        perf_html = f"{c.verdict.replace('_', ' ')} ({c.n_labelled} labelled of {c.n_predictions})"
    e = report.estimated
    if e is not None and e.estimated is not None:
        perf_html += band_chart(
            [(_mid(m.start, m.end), m.value, m.low, m.high) for m in e.windows],
            title="estimated accuracy per window, from calibrated scores — no labels needed (95% band)",
            reference=e.validation,
            counts=[m.n for m in e.windows],
        )
        perf_html += (
            f'<div style="font:12px sans-serif">estimated accuracy {e.estimated:.3f} [{e.low:.3f}, {e.high:.3f}] '
            f"on {e.n} answers vs validation {e.validation if e.validation is None else round(e.validation, 3)} — {_verdict(judged['estimated'])}</div>"
        )
    elif e is not None:
        perf_html += f'<div style="font:12px sans-serif">estimated accuracy: {e.verdict.replace("_", " ")} ({e.n} scored answers)</div>'
    fair_html = "no protected attribute declared"
    if f is not None:
        fair_html = ""
        for a in f.attributes:
            bars: list[tuple[str, float, float | None, float | None, bool]] = [
                (g.group, g.selection_rate, g.selection_low, g.selection_high, a.verdict == "adverse_impact") for g in a.groups
            ]
            fair_html += bar_chart(bars, title=f"{a.attribute}: favourable-outcome rate per group (95% CI)")
            fair_html += band_chart(
                [(_mid(m.start, m.end), m.value, m.low, m.high) for m in a.timeline],
                title=f"{a.attribute}: disparate-impact ratio — {a.verdict}",
                reference=0.8,
                reference_label="four-fifths",
            )
    rows = "".join(
        f"<tr><td>{html.escape(v.version_id or '')}</td><td>{v.n}</td><td>{v.latency_p50_ms or 0:.1f}</td>"
        f"<td>{v.latency_p95_ms or 0:.1f}</td><td>{v.latency_p99_ms or 0:.1f}</td><td>{v.error_rate:.1%}</td>"
        f"<td>{v.fallback_rate:.1%}</td><td>{v.violation_rate:.1%}</td><td>{v.override_rate:.1%}</td></tr>"
        for v in o.by_version
    )
    ops_html = (
        '<table style="font:12px sans-serif"><tr><th>version</th><th>n</th><th>p50 ms</th><th>p95 ms</th>'
        "<th>p99 ms</th><th>errors</th><th>fallbacks</th><th>guardrails</th><th>overrides</th></tr>" + rows + "</table>"
    )
    ops_html += band_chart(
        [(_mid(s.start, s.end), s.latency_p95_ms, s.latency_p50_ms, s.latency_p99_ms) for s in o.timeline], title="latency p95 per window (band: p50–p99, ms)"
    )
    return {"header": header, "drift": drift_html, "performance": perf_html, "fairness": fair_html, "operations": ops_html}


class MonitorWidget(w.VBox):
    """Monitor of one deployment; refreshes every ``every`` seconds while "live" is on."""

    def __init__(self, workspace: Any, name: str, *, window: str = "1h", every: float = 10.0, live: bool = True) -> None:
        self.workspace, self.name, self.window, self.every = workspace, name, window, every
        self.header = w.HTML()
        self.sections = {k: w.HTML() for k in ("drift", "performance", "fairness", "operations")}
        self.tabs = w.Tab(children=list(self.sections.values()))
        for i, title in enumerate(("Data drift", "Performance", "Fairness", "Operations")):
            self.tabs.set_title(i, title)
        self.window_box = w.Dropdown(
            options=["15m", "1h", "6h", "1d", "7d", "all"],
            value=window if window in {"15m", "1h", "6h", "1d", "7d", "all"} else "1h",
            description="window",
            layout={"width": "160px"},
        )
        self.live_box = w.ToggleButton(value=live, description="live", icon="refresh", layout={"width": "80px"})
        self.refresh_button = w.Button(description="refresh", layout={"width": "90px"})
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.window_box.observe(self._window_changed, names="value")
        self.live_box.observe(lambda change: self.start() if change["new"] else self.stop(), names="value")
        super().__init__([w.HBox([self.window_box, self.live_box, self.refresh_button]), self.header, self.tabs])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_report: MonitorReport | None = None
        self.refresh()
        if live:
            self.start()

    def _window_changed(self, change: dict[str, Any]) -> None:
        self.window = change["new"]
        self.refresh()

    def refresh(self) -> MonitorReport | None:
        try:
            report = self.workspace.monitor(self.name, window=self.window)
        except Nb2prodError as exc:
            self.header.value = f'<div style="color:#d0021b;font:13px sans-serif">{html.escape(str(exc))}</div>'
            return None
        parts = render_sections(report)
        self.header.value = parts["header"]
        for key, box in self.sections.items():
            box.value = parts[key]
        self.last_report = report
        return report

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.refresh()

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"nb2prod-monitor-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.every + 30)
            self._thread = None

    def close(self) -> None:
        self.stop()
        super().close()
