"""``nb2prod retrain``, ``policy``, ``schedule`` and ``contract``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from nb2prod.api import Workspace
from nb2prod.cli.app import cli, pass_workspace
from nb2prod.models import RetrainPolicy, RetrainResult

__all__: list[str] = []


def _print_result(result: RetrainResult) -> None:
    click.echo(f"retrain {result.retrain_id} of {result.name}: {result.outcome} in {result.duration_s:.1f}s")
    for step in result.steps:
        click.echo(f"  {step.step:<12} {step.status:<8} {step.detail}")
    click.echo(f"  live: {result.live_after}" + (f"   candidate: {result.candidate}" if result.candidate else ""))


@cli.command()
@click.argument("name")
@click.option("--data", type=click.Path(dir_okay=False), default=None, help="New training data (CSV/Parquet), checked against the data contract.")
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="KEY VALUE", help="Set a papermill parameter (repeatable).")
@click.option("--no-feedback", is_flag=True, help="Do not add the service's feedback labels to the training data.")
@click.option("--auto-promote/--no-auto-promote", default=None, help="Promote when the shadow gate passes (default: the policy).")
@click.option("--approve", is_flag=True, help="Approve the promotion now (a human decision).")
@click.option("--timeout", type=float, default=None, help="Per-cell timeout in seconds.")
@click.option("--notebook", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Training notebook for this run (default: the policy's, else the live version's).")
@click.option("--if-due", is_flag=True, help="Only when the retraining policy says NAME is due (expired, or an alert fired).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def retrain(ws: Workspace, name: str, data: str | None, params: tuple[tuple[str, str], ...], no_feedback: bool,
            auto_promote: bool | None, approve: bool, timeout: float | None, notebook: str | None, if_due: bool,
            as_json: bool) -> None:
    """Retrain NAME: contract, feedback, papermill training + validation gate, shadow, shadow gate, promotion."""
    from nb2prod.runs.parameters import parse_parameter

    if if_due:  # a scheduled job (the cluster's CronJob) retrains only what the policy says is due
        item = ws.deployment(name, history=0).retrain
        if item is None or not item.due:
            why = list(item.reasons) if item is not None and item.reasons else [
                "no retraining policy: set one with `nb2prod policy`" if item is None or item.policy is None
                else "the live version is within its max age and no trigger alert fired"]
            click.echo(json.dumps({"name": name, "due": False, "reasons": why}) if as_json else f"{name}: not due ({'; '.join(why)})")
            return
    result = ws.retrain(name, data=data, parameters=dict(parse_parameter(k, v) for k, v in params), feedback=not no_feedback,
                        auto_promote=auto_promote, approve=approve, timeout_s=timeout, progress=not as_json, check=False,
                        notebook=notebook)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_result(result)
    if result.outcome == "refused":
        raise click.exceptions.Exit(8)
    if result.outcome == "failed":
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("name")
@click.option("--max-age-days", type=float, default=30.0, show_default=True, help="Expire the live model after this many days (0: never).")
@click.option("--on-alert", "on_alerts", multiple=True, help="Alert rule name or metric that triggers a retrain (repeatable; default: data and concept drift).")
@click.option("--auto-promote", is_flag=True, help="Promote automatically when the shadow gate passes.")
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="KEY VALUE", help="A papermill parameter for every retrain.")
@click.option("--notebook", type=click.Path(dir_okay=False, exists=True), default=None, help="Training notebook (default: the live version's).")
@click.option("--cron", default="0 3 * * *", show_default=True, help="CronJob schedule.")
@click.option("--show", is_flag=True, help="Only print the current policy.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def policy(ws: Workspace, name: str, max_age_days: float, on_alerts: tuple[str, ...], auto_promote: bool,
           params: tuple[tuple[str, str], ...], notebook: str | None, cron: str, show: bool, as_json: bool) -> None:
    """Set (or --show) NAME's retraining policy: expiry, alert triggers, promotion mode."""
    from nb2prod.runs.parameters import parse_parameter

    if show:
        current = ws.retrain_policy(name)
        if current is None:
            click.echo(json.dumps(None) if as_json else f"{name} has no retraining policy")
        else:
            click.echo(json.dumps(current.to_dict(), indent=2) if as_json else _policy_summary(current))
        return
    saved = ws.set_retrain_policy(
        name, max_age_days=max_age_days or None, on_alerts=on_alerts or ("data drift", "concept drift"), auto_promote=auto_promote,
        parameters=dict(parse_parameter(k, v) for k, v in params), notebook=notebook, cron=cron,
    )
    click.echo(json.dumps(saved.to_dict(), indent=2) if as_json else "saved " + _policy_summary(saved))


def _policy_summary(p: RetrainPolicy) -> str:
    lines = [
        f"retraining policy of {p.name}:",
        f"  expires after  {'never' if p.max_age_days is None else f'{p.max_age_days:g} days'}",
        f"  on alerts      {', '.join(p.on_alerts) or 'none'}",
        f"  promotion      {'automatic when the shadow gate passes' if p.auto_promote else 'needs approval'}",
        f"  schedule       {p.cron}",
    ]
    if p.notebook:
        lines.append(f"  notebook       {p.notebook}")
    if p.parameters:
        lines.append(f"  parameters     {', '.join(f'{k}={v!r}' for k, v in p.parameters.items())}")
    return "\n".join(lines)


@cli.command()
@click.option("--run", "run_due", is_flag=True, help="Retrain every due deployment now.")
@click.option("--cronjob", "cronjob_path", type=click.Path(dir_okay=False), default=None,
              help="Write a Kubernetes CronJob manifest (YAML) running `nb2prod schedule --run` to this file.")
@click.option("--image", default="nb2prod:latest", show_default=True, help="Container image for the CronJob.")
@click.option("--cron", default="0 3 * * *", show_default=True, help="CronJob schedule.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def schedule(ws: Workspace, run_due: bool, cronjob_path: str | None, image: str, cron: str, as_json: bool) -> None:
    """Print due retrains (expired models flagged); optionally run them or write a CronJob manifest."""
    import yaml

    items = ws.schedule()
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in items], indent=2))
    elif not items:
        click.echo("no deployments yet")
    for item in items if not as_json else []:
        flag = "EXPIRED" if item.expired else "DUE" if item.due else "ok"
        age = "-" if item.age_days is None else f"{item.age_days:.1f}d"
        policy_text = "no policy" if item.policy is None else f"max age {item.policy.max_age_days}d"
        click.echo(f"{item.name:<20} {flag:<8} live {item.live_version or '-'}  age {age}  ({policy_text})")
        for reason in item.reasons:
            click.echo(f"    {reason}")
    if cronjob_path:
        manifest = ws.cronjob(image=image, schedule=cron)
        Path(cronjob_path).write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
        click.echo(f"CronJob manifest written to {cronjob_path}", err=as_json)
    if run_due:
        failed = 0
        for item in items:
            if item.due:
                result = ws.retrain(item.name, check=False, progress=False)
                _print_result(result)
                failed += result.outcome in {"refused", "failed"}
        if failed:
            raise click.exceptions.Exit(1)


@cli.command()
@click.argument("ref")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--tolerance", type=float, default=0.1, show_default=True, help="Range slack, as a share of the recorded span.")
@click.option("--max-share", type=float, default=0.01, show_default=True, help="Share of out-of-range / unseen rows tolerated.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def contract(ws: Workspace, ref: str, data: str, tolerance: float, max_share: float, as_json: bool) -> None:
    """Check DATA (CSV/Parquet) against the data contract of REF (NAME or NAME:VERSION); exit 8 when broken."""
    report = ws.check_contract(ref, data, tolerance=tolerance, max_share=max_share)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else report.summary())
    if not report.ok:
        raise click.exceptions.Exit(8)
