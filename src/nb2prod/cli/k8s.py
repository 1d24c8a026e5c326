"""``nb2prod k8s``: a deployment's cluster topology as manifests, and the render after every traffic change."""

from __future__ import annotations

import click

from nb2prod.api import Workspace
from nb2prod.cli.app import cli, pass_workspace

__all__ = ["apply_option", "render_after_change"]

apply_option = click.option(
    "--apply", "apply", is_flag=True,
    help="Also run `kubectl apply` on the deployment's k8s manifests (when kubectl has a current context).",
)


def render_after_change(ws: Workspace, name: str, apply: bool) -> None:
    """With ``--apply``: kubectl apply NAME's manifests, which the traffic change has just re-rendered (an apply
    error is the command's; the change itself stands)."""
    if apply:
        click.echo(f"  k8s: {ws.k8s(name, apply=True).message}")


@cli.command()
@click.argument("name")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Folder for the manifests (default: <home>/deployments/NAME/k8s).")
@apply_option
@click.option("--registry", default=None, help="Image registry prefix: image = REGISTRY/<bento tag>.")
@click.option("--namespace", default=None, help="Kubernetes namespace of every object.")
@click.option("--gateway", default=None, help="Name of the Gateway the HTTPRoute attaches to (default nb2prod-gateway).")
@click.option("--gateway-namespace", default=None, help="Namespace of that Gateway.")
@click.option("--hostname", "hostnames", multiple=True, help="Host name the route answers (repeatable).")
@click.option("--protect-predict/--open-predict", "protect_predict", default=None,
              help="Services want the bearer token on /predict too (default: open; put the route behind gateway auth).")
@click.option("--store-secret", default=None, help="Secret holding the PostgreSQL store URL under key `url` (default NAME-store).")
@click.option("--train-image", default=None, help="Image of the retraining CronJob (default: the live version's image).")
@click.option("--storage", default=None, help="Size of the retraining PVC (default 10Gi).")
@click.option("--storage-class", default=None, help="StorageClass of the retraining PVC.")
@pass_workspace
def k8s(ws: Workspace, name: str, out: str | None, apply: bool, hostnames: tuple[str, ...], **options: object) -> None:
    """Write NAME's cluster topology from the store's routing: Deployment + Service per version, HTTPRoute, CronJob + PVC.

    Options given are remembered for the renders that follow canary / shadow / control / promote / rollback.
    """
    result = ws.k8s(name, out=out, apply=apply, hostnames=hostnames or None, **options)
    for version_id, arm in result.arms.items():
        click.echo(f"{arm:<8} {version_id}")
    click.echo(result.message)
