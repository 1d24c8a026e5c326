"""Kubernetes manifests of a deployment: one Deployment per version behind a Gateway API HTTPRoute, retraining CronJob + PVC."""

from nb2prod.package.k8s.apply import Applied, apply_command, kubectl_apply
from nb2prod.package.k8s.cluster import cluster_folder, render_cluster
from nb2prod.package.k8s.options import ClusterOptions
from nb2prod.package.k8s.topology import ClusterManifests, render_files, write_topology

__all__ = [
    "Applied",
    "ClusterManifests",
    "ClusterOptions",
    "apply_command",
    "cluster_folder",
    "kubectl_apply",
    "render_cluster",
    "render_files",
    "write_topology",
]
