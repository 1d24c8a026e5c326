"""``nb2prod profiles``: backfill monitoring profiles from audit rows, audit retention, profile storage."""

from __future__ import annotations

import json
import os

import click

from nb2prod.api import Workspace
from nb2prod.cli.app import cli, pass_workspace

__all__: list[str] = []


@cli.group()
def profiles() -> None:
    """Monitoring profiles: the per-minute summaries every monitor, panel and alert reads."""


@profiles.command()
@click.argument("name")
@click.option("--since", default=None, metavar="WINDOW", help="Only the last WINDOW (e.g. 7d); default: every stored row.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def rebuild(ws: Workspace, name: str, since: str | None, as_json: bool) -> None:
    """Recompute NAME's profiles from its audit rows (a store written before profiles existed, or after a restore)."""
    folded = ws.rebuild_profiles(name, since=since)
    storage = ws.profile_storage(name)
    if as_json:
        click.echo(json.dumps({"name": name, "folded": folded, "profile_rows": storage["rows"], "buckets": storage["buckets"], "bytes": storage["bytes"]}))
        return
    click.echo(f"{name}: {folded} audit rows folded into {storage['buckets']} bucket profiles "
               f"({storage['bytes_per_bucket'] / 1024:.1f} KB per bucket)")


@profiles.command("prune-audit")
@click.option("--older-than", default=None, metavar="WINDOW",
              help="Delete audit rows older than WINDOW (e.g. 30d). Default: NB2PROD_AUDIT_RETENTION.")
@click.option("--name", default=None, help="Only this deployment's rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def prune_audit(ws: Workspace, older_than: str | None, name: str | None, as_json: bool) -> None:
    """Audit retention: delete old prediction rows (and their feedback/overrides); monitoring profiles stay."""
    chosen = older_than or os.environ.get("NB2PROD_AUDIT_RETENTION")
    if not chosen:
        raise click.UsageError("no retention given: pass --older-than 30d or set NB2PROD_AUDIT_RETENTION")
    deleted = ws.prune_audit(chosen, name=name)
    if as_json:
        click.echo(json.dumps({"deleted": deleted, "older_than": chosen, "name": name}))
        return
    click.echo(f"deleted {deleted} audit rows older than {chosen}; monitoring history (profiles) kept")


@profiles.command()
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def stats(ws: Workspace, name: str | None, as_json: bool) -> None:
    """Profile storage: rows, bytes, bytes per bucket (one minute of one deployment, version and arm)."""
    storage = ws.profile_storage(name)
    if as_json:
        click.echo(json.dumps(storage))
        return
    click.echo(f"{storage['rows']} profile rows, {storage['buckets']} buckets, {storage['bytes'] / 1024:.0f} KB "
               f"({storage['bytes_per_bucket'] / 1024:.1f} KB per bucket)")
