"""``nb2prod store``: the store's schema revision, and upgrading it ahead of the first open."""

from __future__ import annotations

import json

import click

from nb2prod.api import Workspace
from nb2prod.cli.app import cli, pass_workspace

__all__: list[str] = []


@cli.group()
def store() -> None:
    """The store's schema: which revision it is at; upgrade it (any command opening the store also does)."""


@store.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def current(ws: Workspace, as_json: bool) -> None:
    """The store's schema revision and this nb2prod's head, without changing anything."""
    status = ws.store_schema()
    if as_json:
        click.echo(json.dumps(status.to_dict()))
        return
    where = f"store {status.url}"
    if status.revision is None:
        click.echo(f"{where}: empty; the first command that opens it creates it at revision {status.head}")
    elif not status.known:
        click.echo(f"{where}: revision {status.revision}, newer than this nb2prod (head {status.head}): upgrade nb2prod")
    elif status.at_head:
        click.echo(f"{where}: revision {status.revision} (head)")
    else:
        made = " (written before migrations: revision read off its tables)" if status.detected else ""
        click.echo(f"{where}: revision {status.revision}{made}, head {status.head}: `nb2prod store upgrade` "
                   "or any command that opens it upgrades it")


@store.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_workspace
def upgrade(ws: Workspace, as_json: bool) -> None:
    """Migrate the store to this nb2prod's schema (run once before starting several replicas of a new release)."""
    before, after = ws.upgrade_store()
    if as_json:
        click.echo(json.dumps({"before": before.to_dict(), "after": after.to_dict()}))
        return
    where = f"store {after.url}"
    if before.at_head:
        click.echo(f"{where}: already at revision {after.revision} (head)")
    elif before.revision is None:
        click.echo(f"{where}: created at revision {after.revision}")
    else:
        click.echo(f"{where}: upgraded from revision {before.revision} to {after.revision}")
