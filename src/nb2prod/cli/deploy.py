"""``nb2prod deploy``, ``serve``, ``stop``, ``versions`` and ``rebuild``."""

from __future__ import annotations

import json
import time

import click

from nb2prod.api import Workspace
from nb2prod.cli.app import cli, pass_workspace
from nb2prod.errors import Nb2prodError

__all__: list[str] = []


@cli.command()
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--name", required=True, help="Deployment name (lower-case letters, digits, dashes).")
@click.option("--model", "model_var", default="model", show_default=True, help="Notebook variable holding the fitted model.")
@click.option("--data", "data_var", default="X_train", show_default=True, help="Variable holding the training frame.")
@click.option("--target", "target_var", default="y_train", show_default=True, help="Variable holding the training target ('' for none).")
@click.option("--holdout", nargs=2, metavar="X_TEST Y_TEST", default=None, help="Variables holding the holdout frame and target.")
@click.option("--protected", multiple=True, help="Protected attribute column (repeatable).")
@click.option("--fallback", default="baseline", show_default=True, help="baseline | constant:VALUE | previous | none.")
@click.option("--min-metric", multiple=True, metavar="METRIC=VALUE", help="Gate threshold, e.g. roc_auc=0.7 (repeatable).")
@click.option("--tolerance", type=float, default=0.01, show_default=True, help="Allowed drop of the primary metric vs live.")
@click.option("--allow-schema-change", is_flag=True, help="Accept an input schema that differs from the live version's.")
@click.option("--threshold", type=float, default=None,
              help="Decide P(positive) >= THRESHOLD (binary models with predict_proba); default: the model's own predict().")
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="KEY VALUE", help="Papermill parameter (repeatable).")
@click.option("--serve", is_flag=True, help="Start the service on 127.0.0.1 when built.")
@click.option("--shadow", type=click.FloatRange(0, 100, min_open=True), default=None, metavar="PERCENT",
              help="Run the new version as a shadow of the live one on PERCENT of requests instead of making it live.")
@click.option("--favorable", default=None, metavar="VALUE", help="The decision that benefits the subject, for fairness (JSON, e.g. 0).")
@click.option("--wheel", "wheels", multiple=True, metavar="PATH",
              help="A wheel the Bento installs instead of the index (repeatable), for packages installed from a local folder.")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port for --serve (default: first free from 3000).")
@click.option("--timeout", type=float, default=None, help="Per-cell timeout in seconds for the notebook run.")
@click.option("--lint-fail-on", type=click.Choice(["error", "warning", "info", "never"]), default="error", show_default=True,
              help="Lint severity that stops the deploy before the notebook runs.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (on failure: a JSON error object, still exit non-zero).")
@pass_workspace
def deploy(
    ws: Workspace,
    notebook: str,
    name: str,
    model_var: str,
    data_var: str,
    target_var: str,
    holdout: tuple[str, str] | None,
    protected: tuple[str, ...],
    fallback: str,
    min_metric: tuple[str, ...],
    tolerance: float,
    allow_schema_change: bool,
    threshold: float | None,
    params: tuple[tuple[str, str], ...],
    serve: bool,
    shadow: float | None,
    favorable: str | None,
    wheels: tuple[str, ...],
    port: int | None,
    timeout: float | None,
    lint_fail_on: str,
    as_json: bool,
) -> None:
    """Run NOTEBOOK (papermill, in its own folder) and deploy the model it fits, exactly as %deploy would in it."""
    try:
        _deploy(ws, notebook, name, model_var, data_var, target_var, holdout, protected, fallback, min_metric, tolerance,
                allow_schema_change, threshold, params, serve, shadow, favorable, wheels, port, timeout, lint_fail_on, as_json)
    except Nb2prodError as exc:
        if as_json:  # a script reading stdout gets an answer either way; the exit code still says it failed
            click.echo(json.dumps({"ok": False, **exc.to_dict()}, indent=2))
        raise


def _deploy(
    ws: Workspace,
    notebook: str,
    name: str,
    model_var: str,
    data_var: str,
    target_var: str,
    holdout: tuple[str, str] | None,
    protected: tuple[str, ...],
    fallback: str,
    min_metric: tuple[str, ...],
    tolerance: float,
    allow_schema_change: bool,
    threshold: float | None,
    params: tuple[tuple[str, str], ...],
    serve: bool,
    shadow: float | None,
    favorable: str | None,
    wheels: tuple[str, ...],
    port: int | None,
    timeout: float | None,
    lint_fail_on: str,
    as_json: bool,
) -> None:
    from nb2prod.runs import parse_parameter

    started = time.perf_counter()
    result = ws.deploy_notebook(
        notebook,
        name=name,
        model_var=model_var,
        data_var=data_var,
        target_var=target_var or None,
        holdout_vars=holdout or None,
        parameters=dict(parse_parameter(k, v) for k, v in params),
        protected=protected,
        fallback=fallback,
        min_metric=list(min_metric),
        tolerance=tolerance,
        allow_schema_change=allow_schema_change,
        threshold=threshold,
        timeout_s=timeout,
        fail_on=None if lint_fail_on == "never" else lint_fail_on,
        shadow=shadow,
        favorable=None if favorable is None else parse_parameter("favorable", favorable)[1],
        wheels=wheels,
    )
    deployed = time.perf_counter()
    url = ws.serve(f"{result.name}:{result.version_id}", port=port).url if serve else None
    # The user waited for the notebook run too, not only for the packaging the result times.
    wall_s = time.perf_counter() - started
    parts = {"notebook run": max(0.0, deployed - started - result.duration_s), "proof + build": result.duration_s}
    if serve:
        parts["serve"] = time.perf_counter() - deployed
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "url": url, "wall_s": round(wall_s, 2),
                               "parts_s": {k: round(v, 2) for k, v in parts.items()}}, indent=2))
        return
    click.echo(result.summary())
    click.echo(f"  took:    {wall_s:.1f} s in all (" + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()) + ")")
    if url:
        click.echo(f"serving at {url} (stop with `nb2prod stop {result.name}`)")


@cli.command()
@click.argument("ref", metavar="NAME[:VERSION]")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: first free from 3000).")
@click.option("--timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for /readyz.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def serve(ws: Workspace, ref: str, port: int | None, timeout: float, as_json: bool) -> None:
    """Start a deployed version's Bento on 127.0.0.1 in the background; print its URL when ready."""
    info = ws.serve(ref, port=port, timeout_s=timeout)
    if as_json:
        click.echo(json.dumps(info.to_dict(), indent=2))
        return
    click.echo(f"{info.version_id} ready at {info.url} (pid {info.pid}; stop with `nb2prod stop {info.name}`)")


@cli.command()
@click.argument("ref", metavar="[NAME[:VERSION]]", required=False)
@pass_workspace
def stop(ws: Workspace, ref: str | None) -> None:
    """Stop local services of NAME[:VERSION] (all started from this workspace without an argument)."""
    stopped = ws.stop(ref)
    if not stopped:
        click.echo("no running service" + (f" for {ref}" if ref else ""))
    for info in stopped:
        click.echo(f"stopped {info.version_id} ({info.url}, pid {info.pid})")


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the version records as JSON.")
@pass_workspace
def versions(ws: Workspace, name: str, as_json: bool) -> None:
    """List the versions of deployment NAME, newest first."""
    found = ws.versions(name)
    if as_json:
        click.echo(json.dumps([{**record.to_dict(), "state": state.value} for record, state in found], indent=2))
        return
    for record, state in found:
        metrics = ", ".join(f"{k}={v:.4f}" for k, v in record.metrics.items() if isinstance(v, float)) or "-"
        click.echo(f"{record.version_id}  {state.value:<9} {record.created_at}  model {record.model_hash[:12]}  {metrics}")


@cli.command()
@click.argument("ref", metavar="NAME:VERSION")
@click.option("--timeout", type=float, default=None, help="Per-cell timeout in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def rebuild(ws: Workspace, ref: str, timeout: float | None, as_json: bool) -> None:
    """Re-run the version's notebook with its recorded parameters and compare the retrained model."""
    result = ws.rebuild(ref, timeout_s=timeout)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        verdict = "reproduced" if result.matches else "DIFFERS"
        click.echo(f"{result.version_id}: {verdict} — {result.rows - result.mismatched}/{result.rows} sample predictions match"
                   + (f", max |Δscore| {result.max_abs_diff:.2e}" if result.max_abs_diff is not None else ""))
        click.echo(f"  model file identical: {'yes' if result.model_hash_equal else 'no'}; run {result.run_id}: {result.output_notebook}")
        for line in result.differences:
            click.echo(f"  difference: {line}")
        for line in result.likely_causes:
            click.echo(f"  likely cause: {line}")
    if not result.matches:
        raise click.exceptions.Exit(1)
