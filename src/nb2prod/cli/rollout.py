"""``nb2prod promote``, ``rollback``, ``canary``, ``canary-check``, ``shadow``, ``control``, ``compare``, ``gate``."""

from __future__ import annotations

import json

import click

from nb2prod.api import Workspace
from nb2prod.cli.app import cli, pass_workspace
from nb2prod.cli.k8s import apply_option, render_after_change
from nb2prod.errors import GateRefusedError
from nb2prod.models import DeploymentStatus, ShadowComparison

__all__: list[str] = []


def _print_status(status: DeploymentStatus) -> None:
    t = status.traffic
    click.echo(f"{status.name}: live {t.live or '-'}"
               + (f", canary {t.canary} ({t.canary_percent:g}%)" if t.canary else "")
               + (f", shadow {t.shadow} ({t.shadow_percent:g}% of live requests)" if t.shadow else "")
               + (f", control {t.control} ({t.control_percent:g}%)" if t.control else ""))
    if status.events:
        e = status.events[0]
        click.echo(f"  {e.action} by {e.actor}: {e.reason}")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _num(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _print_comparison(c: ShadowComparison) -> None:
    o = c.overall
    click.echo(f"{c.name}: live {c.live_version} vs candidate {c.candidate_version} on {o.n} compared requests"
               f" of {c.shadowed} shadowed (completeness {_pct(c.completeness)}; {c.candidate_errors} candidate errors,"
               f" {c.candidate_timeouts} shadow timeouts not compared)")
    click.echo(f"  agreement {_pct(o.agreement)} (95% CI {_pct(o.low)}–{_pct(o.high)})")
    if c.score_mean_abs_diff is not None:  # the KS test needs more than one pair: its figures can be missing alone
        click.echo(f"  score: mean |Δ| {c.score_mean_abs_diff:.4f}, KS {_num(c.score_ks_statistic, '.3f')} "
                   f"(p={_num(c.score_ks_p_value, '.3g')})")
    for live, row in c.flip_matrix.items():
        click.echo(f"  live {live} → " + ", ".join(f"candidate {k}: {v}" for k, v in row.items()))
    for attribute, groups in c.segments.items():
        click.echo(f"  by {attribute}: " + ", ".join(f"{g} {_pct(a.agreement)} (n={a.n})" for g, a in groups.items()))
    lab = c.labelled
    if lab.n:
        p = "-" if lab.p_value is None else f"{lab.p_value:.3g}"
        click.echo(f"  labelled {lab.n}: live accuracy {_pct(lab.live_accuracy)}, candidate {_pct(lab.candidate_accuracy)}, McNemar p={p}")


@cli.command()
@click.argument("ref", metavar="NAME:VERSION")
@click.option("--approve", is_flag=True, help="Approve a candidate the shadow gate routed to a human.")
@click.option("--reason", default="", help="Why (recorded in the history).")
@apply_option
@pass_workspace
def promote(ws: Workspace, ref: str, approve: bool, reason: str, apply: bool) -> None:
    """Make NAME:VERSION live (a version in shadow must pass the shadow gate)."""
    status = ws.promote(ref, approve=approve, reason=reason)
    _print_status(status)
    render_after_change(ws, status.name, apply)


@cli.command()
@click.argument("name")
@click.option("--to", "to", default=None, metavar="VERSION", help="Version to make live (default: the previous live one).")
@click.option("--reason", default="", help="Why (recorded in the history).")
@apply_option
@pass_workspace
def rollback(ws: Workspace, name: str, to: str | None, reason: str, apply: bool) -> None:
    """Stop a running canary, else make the previously live version live again."""
    status = ws.rollback(name, to=to, reason=reason)
    _print_status(status)
    render_after_change(ws, status.name, apply)


@cli.command()
@click.argument("ref", metavar="NAME:VERSION")
@click.option("--percent", type=float, required=True, help="Share of traffic for the canary (0–100, exclusive).")
@click.option("--reason", default="", help="Why (recorded in the history).")
@click.option("--approve", is_flag=True, help="Canary a version the shadow gate blocked anyway (a human decision, recorded).")
@apply_option
@pass_workspace
def canary(ws: Workspace, ref: str, percent: float, reason: str, approve: bool, apply: bool) -> None:
    """Route PERCENT of traffic (sticky per request key) to NAME:VERSION."""
    status = ws.canary(ref, percent, reason=reason, approve=approve)
    _print_status(status)
    render_after_change(ws, status.name, apply)


@cli.command("canary-check")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Judge only; do not roll back.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def canary_check(ws: Workspace, name: str, dry_run: bool, as_json: bool) -> None:
    """Judge the running canary and roll it back automatically if it crosses a limit."""
    verdict = ws.check_canary(name, rollback=not dry_run)
    if as_json:
        click.echo(json.dumps(verdict.to_dict(), indent=2))
        return
    click.echo(f"{name}: canary {verdict.canary_version} {verdict.verdict} — " + "; ".join(verdict.reasons))


@cli.command()
@click.argument("ref", metavar="NAME:VERSION")
@click.option("--percent", type=float, default=100.0, show_default=True, help="Share of live requests to shadow.")
@click.option("--reason", default="", help="Why (recorded in the history).")
@apply_option
@pass_workspace
def shadow(ws: Workspace, ref: str, percent: float, reason: str, apply: bool) -> None:
    """Run NAME:VERSION beside the live version on PERCENT of requests, off the response path."""
    t = ws.shadow(ref, percent=percent, reason=reason)
    click.echo(f"{t.name}: {t.shadow} shadows live {t.live} on {t.shadow_percent:g}% of requests")
    render_after_change(ws, t.name, apply)


@cli.command()
@click.argument("ref", metavar="NAME:VERSION")
@click.option("--percent", type=float, required=True, help="Share of traffic always served by this reference version.")
@click.option("--reason", default="", help="Why (recorded in the history).")
@apply_option
@pass_workspace
def control(ws: Workspace, ref: str, percent: float, reason: str, apply: bool) -> None:
    """Serve a fixed control-group slice of traffic from a reference version."""
    t = ws.control(ref, percent=percent, reason=reason)
    click.echo(f"{t.name}: control group {t.control} serves {t.control_percent:g}% of traffic")
    render_after_change(ws, t.name, apply)


@cli.command()
@click.argument("name")
@click.option("--candidate", default=None, metavar="VERSION", help="Candidate version (default: the current shadow).")
@click.option("--window", default=None, help="Only the last window, e.g. 1h (default: since the shadow started).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def compare(ws: Workspace, name: str, candidate: str | None, window: str | None, as_json: bool) -> None:
    """Compare the live version with its shadow on the same requests."""
    comparison = ws.compare(name, candidate=candidate, window=window)
    if as_json:
        click.echo(json.dumps(comparison.to_dict(), indent=2))
    else:
        _print_comparison(comparison)


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def gate(ws: Workspace, name: str, as_json: bool) -> None:
    """Run the two-stage shadow gate now and record its decision."""
    decision = ws.gate(name)
    if as_json:
        click.echo(json.dumps(decision.to_dict(), indent=2))
    else:
        click.echo(f"{name}: {decision.candidate_version} {decision.verdict}")
        for reason in decision.reasons:
            click.echo(f"  - {reason}")
    if decision.verdict == "blocked":  # a script must see the refusal, not a 0 after the printout
        click.get_current_context().exit(GateRefusedError.exit_code)
