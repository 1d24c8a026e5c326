"""``nb2prod monitor``, ``drift`` and ``report``: monitoring from the audit store."""

from __future__ import annotations

import json
import time

import click

from nb2prod.api import Workspace
from nb2prod.cli.app import cli, pass_workspace
from nb2prod.judgement import MIN_ROWS
from nb2prod.models import AlertCheck, DriftResult, MonitorReport

__all__: list[str] = []


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


_EFFECT_WORDS = {"wasserstein_norm": "wasserstein", "jensen_shannon": "JS distance"}


def _print_drift(d: DriftResult) -> None:
    click.echo(f"data drift: {len(d.drifted)}/{len(d.features)} features drifted (score {d.score:.2f}; "
               f"BH q ≤ {d.alpha:g} and effect ≥ {d.min_effect:g}; {d.n_current} rows vs {d.n_reference} reference; "
               f"{d.elapsed_ms:.0f} ms)")
    if d.n_current < MIN_ROWS:
        # a handful of rows gives every feature a large effect and PSI that a table would show as if they meant something
        click.echo(f"  not enough data (n={d.n_current}): the per-feature table appears from {MIN_ROWS} predictions in the window")
        return
    # derived columns (posted.weekday, review.words) can be long: the feature column fits the longest name
    width = max([22, *(len(f.feature) + 2 for f in d.features)])
    click.echo(f"  {'feature':<{width}}{'test':<6}{'p':>10}{'q':>10}{'effect':>20}{'psi':>8}  drift")
    for f in sorted(d.features, key=lambda x: (not x.drifted, x.q_value)):
        effect = f"{_EFFECT_WORDS.get(f.effect_name, f.effect_name)} {f.effect:.3f}"
        mark = "DRIFT" if f.drifted else ""
        extra = f"  unseen: {', '.join(f.unseen)}" if f.unseen else ""
        click.echo(f"  {f.feature:<{width}}{f.test:<6}{f.p_value:>10.2g}{f.q_value:>10.2g}{effect:>20}{f.psi:>8.3f}  {mark}{extra}")


def _print_report(r: MonitorReport) -> None:
    click.echo(f"{r.name} ({r.version_id}) — window {r.window}: {r.n} predictions  [{r.elapsed_ms:.0f} ms]")
    for note in r.notes:
        click.echo(f"  note: {note}")
    if r.drift is not None:
        _print_drift(r.drift)
    c = r.concept
    if c is not None:
        ci = f"[{_fmt(c.live_low)}, {_fmt(c.live_high)}]" if c.live_low is not None else ""
        click.echo(f"concept drift: {c.metric} live {_fmt(c.live)} {ci} vs validation {_fmt(c.validation)} "
                   f"on {c.n_labelled} labelled — {c.verdict} (score {_fmt(c.score)}; ADWIN changes: {len(c.detections)})")
    e = r.estimated
    if e is not None and e.estimated is None:  # say why there is no estimate, not a row of dashes
        why = {"no_calibration": "the version has no calibration map (a classifier deployed with --holdout X_TEST Y_TEST gets one)",
               "insufficient_data": f"not enough data (n={e.n} scored answers)"}.get(e.verdict, e.verdict.replace("_", " "))
        click.echo(f"estimated performance (no labels needed): not available — {why}")
    elif e is not None:
        ci = f"[{_fmt(e.low)}, {_fmt(e.high)}]" if e.low is not None else ""
        click.echo(f"estimated performance (no labels needed): accuracy {_fmt(e.estimated)} {ci} vs validation "
                   f"{_fmt(e.validation)} on {e.n} scored answers — {e.verdict} (score {_fmt(e.score)}; "
                   f"precision {_fmt(e.precision)}, recall {_fmt(e.recall)}, f1 {_fmt(e.f1)}, roc_auc {_fmt(e.roc_auc)})")
    if r.fairness is not None:
        for a in r.fairness.attributes:
            groups = ", ".join(f"{g.group} {g.selection_rate:.2f} (n={g.n})" for g in a.groups)
            click.echo(f"fairness {a.attribute}: selection {groups}; DI ratio {_fmt(a.di_ratio, '.2f')} "
                       f"[{_fmt(a.di_low, '.2f')}, {_fmt(a.di_high, '.2f')}] — {a.verdict}")
    o = r.operations.overall
    click.echo(f"operations: {o.throughput_rps:.2f} rps, latency p50/p95/p99 {_fmt(o.latency_p50_ms, '.1f')}/"
               f"{_fmt(o.latency_p95_ms, '.1f')}/{_fmt(o.latency_p99_ms, '.1f')} ms, errors {o.error_rate:.1%}, "
               f"fallbacks {o.fallback_rate:.1%}, guardrail violations {o.violation_rate:.1%}, overrides {o.override_rate:.1%}")
    for v in r.operations.by_version:
        click.echo(f"  {v.version_id}: n={v.n}, p95 {_fmt(v.latency_p95_ms, '.1f')} ms, errors {v.error_rate:.1%}, "
                   f"fallbacks {v.fallback_rate:.1%}")
    for key, value in r.business.items():
        click.echo(f"business {key}: {_fmt(value, '.4g')}")


def _print_checks(checks: list[AlertCheck]) -> None:
    for c in checks:
        rule = c.rule
        # "value (fires when > threshold)": a bare "0.98 < 0.8" read as a condition that holds
        head = f"{c.status.upper():<17} {rule.name}: {rule.metric} = {_fmt(c.value, '.4g')} (fires when {rule.op} {rule.threshold:g}) " \
               f"over {rule.window} (n={c.count})"
        tail = f" — {c.note}" if c.note else ""
        if c.alert is not None and c.alert.delivered:
            tail += " — webhook delivered"
        click.echo(head + tail, err=c.status == "firing")


@cli.command()
@click.argument("name")
@click.option("--window", default="1h", show_default=True, help="Window to analyse: 30m, 1h, 7d, all.")
@click.option("--watch", type=click.FloatRange(min=1.0), default=None, metavar="SECONDS", help="Re-evaluate every SECONDS until Ctrl-C.")
@click.option("--max-iterations", type=click.IntRange(min=1), default=None, help="With --watch: stop after this many passes.")
@click.option("--rules", type=click.Path(dir_okay=False), default=None, help="Alert rules file (YAML or JSON). Default: built-in rules.")
@click.option("--webhook", default=None, metavar="URL", help="POST firing alerts as JSON to URL.")
@click.option("--business", multiple=True, metavar="MODULE:FUNC", help="Business metric fn(rows) -> float (repeatable).")
@click.option("--no-alerts", is_flag=True, help="Only report; do not evaluate alert rules.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def monitor(ws: Workspace, name: str, window: str, watch: float | None, max_iterations: int | None, rules: str | None,
            webhook: str | None, business: tuple[str, ...], no_alerts: bool, as_json: bool) -> None:
    """Drift, concept drift, fairness, operations and alerts of deployment NAME (or NAME:VERSION)."""
    metrics = ws.business_metrics(business)
    chosen = ws.alert_rules(rules)
    iteration = 0
    while True:
        iteration += 1
        report = ws.monitor(name, window=window, business=metrics)
        checks = [] if no_alerts else ws.evaluate_alerts(name, chosen, webhook=webhook, business=metrics)
        if as_json:
            click.echo(json.dumps({**report.to_dict(), "checks": [c.to_dict() for c in checks]}, default=str))
        else:
            if watch:
                click.echo(f"--- {time.strftime('%H:%M:%S')} ---")
            _print_report(report)
            _print_checks(checks)
        if not watch or (max_iterations is not None and iteration >= max_iterations):
            return
        time.sleep(watch)


@cli.command()
@click.argument("name")
@click.option("--window", default="1h", show_default=True, help="Window to analyse: 30m, 1h, 7d, all.")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.05, show_default=True,
              help="False discovery rate across features.")
@click.option("--min-effect", type=click.FloatRange(min=0), default=0.1, show_default=True,
              help="Minimum effect size (normed Wasserstein / Jensen–Shannon) to call drift.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def drift(ws: Workspace, name: str, window: str, alpha: float, min_effect: float, as_json: bool) -> None:
    """Per-feature data drift of NAME's live inputs against its deploy-time reference."""
    result = ws.drift(name, window=window, alpha=alpha, min_effect=min_effect)
    if as_json:
        click.echo(json.dumps(result.to_dict(), default=str))
        return
    _print_drift(result)


@cli.command()
@click.argument("name")
@click.option("--html", "html", type=click.Path(dir_okay=False), default=None, help="Where to write the HTML report.")
@click.option("--window", default="1d", show_default=True, help="Window of live inputs: 30m, 1h, 7d, all.")
@pass_workspace
def report(ws: Workspace, name: str, html: str | None, window: str) -> None:
    """Evidently's deep data-drift HTML report of NAME (reference sample vs live window)."""
    result = ws.report(name, html=html, window=window)
    click.echo(f"report: {result['path']} ({result['n_current']} live rows vs {result['n_reference_sample']} reference rows; "
               f"Evidently: {int(result['drifted_count'])} columns drifted)")
