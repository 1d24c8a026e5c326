"""The one entry that renders a deployment's cluster topology from the store: ``nb2prod k8s`` and every traffic change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nb2prod.package.k8s.options import load_options, save_options
from nb2prod.package.k8s.topology import DEFAULT_CRON, ClusterManifests, write_topology
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["cluster_folder", "render_cluster"]


def cluster_folder(settings: Settings, name: str) -> Path:
    """Where a deployment's manifests live: ``<home>/deployments/NAME/k8s``."""
    return settings.deployments_dir / name / "k8s"


def render_cluster(
    settings: Settings,
    store: Store,
    name: str,
    *,
    out: str | Path | None = None,
    apply: bool = False,
    schedule: str | None = None,
    **changes: Any,
) -> ClusterManifests:
    """Render ``name``'s topology from the store's routing into its k8s folder (or ``out``); apply it if asked.

    ``changes`` are :class:`~nb2prod.package.k8s.options.ClusterOptions` fields (``registry``,
    ``gateway``, ``namespace``, …); given ones are recorded for the renders that follow a traffic change.
    """
    from nb2prod.package.names import validate_name

    validate_name(name)
    root = settings.deployments_dir / name
    saved = load_options(root)
    options = saved.merged(**changes)
    if options != saved:
        save_options(root, options)
    folder = Path(out).expanduser() if out is not None else cluster_folder(settings, name)
    return write_topology(name, store.registry.traffic(name), store.registry.versions(name), options, folder,
                          schedule=schedule or DEFAULT_CRON, apply=apply)
