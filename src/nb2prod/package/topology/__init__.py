"""The cluster's topology on one machine: per-version ``bentoml serve`` replicas behind nginx, one shared store.

>>> with Topology(settings, store, "credit", replicas=2) as topology:
...     topology.start()          # replicas of every routed version, nginx in front
...     topology.reconcile()      # follow the store's traffic (canary, shadow, promote, rollback)
"""

from __future__ import annotations

from nb2prod.package.topology.nginx import NginxFiles, find_nginx, render_nginx
from nb2prod.package.topology.replicas import Replica, ReplicaEnv, start_replica
from nb2prod.package.topology.supervisor import Topology, TopologyInfo, running_topologies, stop_topologies

__all__ = [
    "NginxFiles",
    "Replica",
    "ReplicaEnv",
    "Topology",
    "TopologyInfo",
    "find_nginx",
    "render_nginx",
    "running_topologies",
    "start_replica",
    "stop_topologies",
]
