"""``nb2prod deploy``, ``serve``, ``stop``, ``versions`` and ``rebuild``."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import click

from nb2prod.api import Workspace
from nb2prod.cli.app import cli, pass_workspace

__all__: list[str] = []

# the notebook's variable names default to the usual ones when nb2prod runs the notebook itself
_CLI_DEFAULTS = {"model_var": "model", "data_var": "X_train", "target_var": "y_train"}


def _deploy_options(command: Callable[..., None]) -> Callable[..., None]:
    """The deploy flags, generated from the table ``%deploy`` uses too, so both fronts take the same options."""
    from nb2prod.package.deploy.request import DEPLOY_OPTIONS, default_of, parse_json_value

    types: dict[str, Any] = {"str": str, "int": int, "float": float, "json": parse_json_value}
    for option in reversed([o for o in DEPLOY_OPTIONS if "cli" in o.fronts]):
        default = _CLI_DEFAULTS.get(option.field, default_of(option.field))
        kwargs: dict[str, Any] = {"default": default, "help": option.help, "metavar": option.metavar,
                                  "show_default": default is not None}
        if option.kind == "flag":
            kwargs = {"is_flag": True, "default": None, "help": option.help}
        elif option.kind == "many":
            kwargs.update(multiple=True, type=types[option.type], default=())
        elif option.kind == "pair":
            kwargs.update(nargs=2, type=types[option.type])
        elif option.kind == "optional":
            kwargs.update(is_flag=False, flag_value=option.const, type=types[option.type])
        elif option.choices:
            kwargs.update(type=click.Choice(option.choices))
            kwargs.pop("metavar")
        else:
            kwargs.update(type=types[option.type])
        command = click.option(*option.flags, option.field, required=option.field == "name", **kwargs)(command)
    return command


@cli.command()
@click.argument("notebook", type=click.Path(dir_okay=False))
@_deploy_options
@click.option("-p", "--parameter", "params", nargs=2, multiple=True, metavar="KEY VALUE", help="Papermill parameter (repeatable).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON (on failure: a JSON error object, still exit non-zero); no progress display.")
@pass_workspace
def deploy(ws: Workspace, notebook: str, params: tuple[tuple[str, str], ...], as_json: bool, **options: Any) -> None:
    """Run NOTEBOOK (papermill, in its own folder) and deploy the model it fits, exactly as %deploy would in it.

    Cells tagged skip-deploy are left out; --cell N / --upto TAG capture the variables after that cell.
    NOTEBOOK may instead be an MLflow model, models:/NAME/VERSION or runs:/RUN_ID/model (its signature
    and input example give the schema).
    """
    from nb2prod.api import _user
    from nb2prod.cli.phases import PhaseDisplay
    from nb2prod.package.deploy.request import DeployRequest
    from nb2prod.runs.parameters import parse_parameter

    given = {k: v for k, v in options.items() if v not in (None, (), False)}
    given["target_var"] = options.get("target_var") or None  # --target '' deploys without a target
    serve, port = bool(given.pop("serve", False)), given.pop("port", None)
    request = DeployRequest.from_options({
        "actor": _user(), **given, "parameters": dict(parse_parameter(k, v) for k, v in params),
    })
    if port is not None and not serve:
        from nb2prod.errors import UsageError

        raise UsageError("--port only applies with --serve", fix="add --serve, or drop --port")
    with PhaseDisplay(enabled=not as_json) as show:
        if ws.is_model_uri(notebook):  # a model logged to MLflow: no notebook to run, its input example is the data
            logged = request.replace(source=notebook, model_var=None, data_var=None, target_var=None, holdout_vars=None)
            show.say("loading the model from MLflow")
            result = ws.deploy_logged(logged, progress=show.say)
        else:
            result = ws.deploy_notebook(notebook, request=request, progress=show.say)
        url = None
        if serve:
            show.say("starting the service")
            url = ws.serve(f"{result.name}:{result.version_id}", port=port).url
        wall_s = show.finish()
    parts = {k: round(v, 2) for k, v in show.parts.items()}
    mlflow = ws.store.registry.get(result.version_id).extra.get("mlflow") if request.mlflow else None
    if as_json:
        click.echo(json.dumps({**result.to_dict(), "url": url, "wall_s": round(wall_s, 2), "parts_s": parts, "mlflow": mlflow},
                              indent=2))
        return
    # the headline's time is the wait the user had, the same figure as "took" below, not the packaging's alone
    click.echo(dataclasses.replace(result, duration_s=wall_s).summary())
    if mlflow:
        click.echo(f"  mlflow:  run {mlflow['run_id']}, model {mlflow['model_uri']} ({mlflow['tracking_uri']})")
    # the user waited for the notebook run and the serve too, not only for the packaging the result times
    click.echo(f"  took:    {wall_s:.1f} s in all (" + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()) + ")")
    if url:
        click.echo(f"serving at {url} (stop with `nb2prod stop {result.name}`)")


@cli.command()
@click.argument("ref", metavar="NAME[:VERSION]", required=False)
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default: first free from 3000; the gateway's from 8080).")
@click.option("--timeout", type=float, default=180.0, show_default=True, help="Seconds to wait for /readyz.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--topology", is_flag=True, help="The cluster's shape on one machine: a bentoml process per routed version behind nginx "
              "(weights = canary, mirror = shadow), following canary/shadow/promote/rollback until Ctrl-C.")
@click.option("--replicas", type=click.IntRange(1, 16), default=None, help="With --topology: replicas of the live version (default 2).")
@click.option("--protect-predict", is_flag=True, help="With --topology: /predict needs the service token at the gateway.")
@click.option("--require-postgres", is_flag=True, help="With --topology: refuse a SQLite store.")
@click.option("--stop", "stop_topology", is_flag=True, help="Stop the running topology of NAME (all of this workspace's without NAME).")
@pass_workspace
def serve(ws: Workspace, ref: str | None, port: int | None, timeout: float, as_json: bool, topology: bool, replicas: int | None,
          protect_predict: bool, require_postgres: bool, stop_topology: bool) -> None:
    """Start a deployed version's Bento on 127.0.0.1 in the background; print its URL when ready.

    With --topology, run the deployment as a cluster would, in the foreground: one `bentoml serve`
    per routed version behind nginx, all writing to the shared store; --stop ends it from another shell.
    """
    from nb2prod.errors import UsageError

    if stop_topology:
        stopped = ws.stop_topology(ref)
        click.echo("\n".join(f"stopped the topology of {n}" for n in stopped) or "no running topology" + (f" of {ref}" if ref else ""))
        return
    if ref is None:
        raise UsageError("say which deployment to serve", fix="nb2prod serve NAME[:VERSION] (or --stop)")
    if not topology and (replicas is not None or protect_predict or require_postgres):
        raise UsageError("--replicas, --protect-predict and --require-postgres only apply with --topology", fix="add --topology")
    if topology:
        _serve_topology(ws, ref, port=port, timeout=timeout, as_json=as_json, replicas=replicas or 2,
                        protect_predict=protect_predict, require_postgres=require_postgres)
        return
    info = ws.serve(ref, port=port, timeout_s=timeout)
    if as_json:
        click.echo(json.dumps(info.to_dict(), indent=2))
        return
    click.echo(f"{info.version_id} ready at {info.url} (pid {info.pid}; stop with `nb2prod stop {info.name}`)")
    if info.auth:
        click.echo(f"token: {info.auth}")


def _serve_topology(ws: Workspace, name: str, *, port: int | None, timeout: float, as_json: bool, replicas: int,
                    protect_predict: bool, require_postgres: bool) -> None:
    import signal
    import threading

    from nb2prod.errors import UsageError

    if ":" in name:
        raise UsageError("--topology serves a deployment's routed versions, not one version", fix=f"nb2prod serve {name.split(':')[0]} --topology")
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    topology = ws.serve_topology(name, replicas=replicas, port=port, protect_predict=protect_predict,
                                 require_postgres=require_postgres, timeout_s=timeout)
    try:
        info = topology.info()
        if as_json:
            click.echo(json.dumps(info.to_dict(), indent=2))
        else:
            for warning in info.warnings:
                click.echo(f"warning: {warning}", err=True)
            for replica in info.replicas:
                click.echo(f"  {replica['version_id']} replica {replica['index']}: {replica['url']} (pid {replica['pid']})")
            click.echo(f"gateway (nginx) for {name} at {info.url}; store {info.store_url}")
            if info.token_usage:
                click.echo(f"token: {info.token_usage}")
            click.echo(f"following {name}'s traffic; Ctrl-C (or `nb2prod serve --stop {name}`) stops everything")
        topology.watch(done)
    finally:
        topology.stop()


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
