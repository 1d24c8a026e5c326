"""``nb2prod run``, ``runs``, ``info`` and ``demo``."""

from __future__ import annotations

import json

import click

from nb2prod.api import Workspace
from nb2prod.cli.app import cli, pass_workspace

__all__: list[str] = []


@cli.command()
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="KEY VALUE", help="Set a papermill parameter (repeatable).")
@click.option("--timeout", type=float, default=None, help="Per-cell timeout in seconds.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@click.option("--lint-fail-on", type=click.Choice(["error", "warning", "info", "never"]), default="error", show_default=True,
              help="Lint severity that stops the run before it starts.")
@pass_workspace
def run(ws: Workspace, notebook: str, params: tuple[tuple[str, str], ...], timeout: float | None, no_progress: bool,
        lint_fail_on: str) -> None:
    """Lint, then execute NOTEBOOK with parameters into a versioned run folder, and record the run."""
    from nb2prod.runs.parameters import parse_parameter

    parameters = dict(parse_parameter(k, v) for k, v in params)
    fail_on = None if lint_fail_on == "never" else lint_fail_on
    record = ws.run_notebook(notebook, parameters, progress=not no_progress, timeout_s=timeout, fail_on=fail_on)
    click.echo(f"run {record.run_id} {record.status} in {record.duration_s:.1f}s")
    click.echo(f"output notebook: {record.output}")


@cli.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def runs(ws: Workspace, limit: int, as_json: bool) -> None:
    """List recorded notebook runs, newest first."""
    records = ws.runs(limit=limit)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records], indent=2))
        return
    if not records:
        click.echo("no runs yet — start one with `nb2prod run NOTEBOOK`")
    for r in records:
        duration = f"{r.duration_s:.1f}s" if r.duration_s is not None else "-"
        click.echo(f"{r.run_id}  {r.status:<9} {duration:>7}  {r.notebook}  {json.dumps(r.parameters)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def info(ws: Workspace, as_json: bool) -> None:
    """Show where this workspace keeps its store, models and runs."""
    data = ws.info()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key:>13}: {value}")


@cli.command()
@click.option("--samples", type=click.IntRange(1000, 1_000_000), default=3_000, show_default=True, help="Training rows.")
@click.option("--traffic", type=click.IntRange(50, 100_000), default=300, show_default=True, help="Requests per replay phase.")
@pass_workspace
def demo(ws: Workspace, samples: int, traffic: int) -> None:
    """Run the end-to-end demo on the example notebook, on embedded defaults."""
    from nb2prod.demo import run_demo

    run_demo(ws, say=click.echo, n_samples=samples, traffic=traffic)
