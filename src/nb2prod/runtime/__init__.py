"""The guarded service runtime: what runs inside every generated BentoML service.

>>> runtime = GuardedRuntime.load("~/.nb2prod/deployments/credit/credit-v2026…")
>>> [p] = runtime.predict([{"age": 35, "income": 52000, ...}], explain=True)
>>> p.prediction, p.probability, p.confidence, p.fallback, p.explanation
>>> runtime.predict(rows, keys=["customer-42", ...])   # sticky canary/control arm per key
>>> runtime.feedback(p.request_id, label=1)
>>> runtime.close()            # drains the audit spool into the store
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nb2prod.runtime.asgi import RequestGuard
    from nb2prod.runtime.audit_writer import AuditWriter, StoreHandle, replay_spool
    from nb2prod.runtime.guarded import GuardedRuntime
    from nb2prod.runtime.schema import RequestId, ServiceSchema, build_schema, validation_message
    from nb2prod.runtime.shadow import ShadowRunner
    from nb2prod.runtime.spec import DeploymentSpec, FeatureSpec, load_spec
    from nb2prod.runtime.traffic import RolloutSettings, RoutingTable, TrafficWatcher

# Lazy: a generated service's module imports only the schema and spec (BentoML's serve and build
# processes import it just to read the API), and the runtime loads in the worker.
_HOMES = {
    "RequestGuard": "asgi",
    "AuditWriter": "audit_writer",
    "StoreHandle": "audit_writer",
    "replay_spool": "audit_writer",
    "GuardedRuntime": "guarded",
    "RequestId": "schema",
    "ServiceSchema": "schema",
    "build_schema": "schema",
    "validation_message": "schema",
    "ShadowRunner": "shadow",
    "DeploymentSpec": "spec",
    "FeatureSpec": "spec",
    "load_spec": "spec",
    "RolloutSettings": "traffic",
    "RoutingTable": "traffic",
    "TrafficWatcher": "traffic",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'nb2prod.runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(f"nb2prod.runtime.{home}"), name)

__all__ = [
    "AuditWriter",
    "DeploymentSpec",
    "FeatureSpec",
    "GuardedRuntime",
    "RequestGuard",
    "RequestId",
    "RolloutSettings",
    "RoutingTable",
    "ServiceSchema",
    "ShadowRunner",
    "StoreHandle",
    "TrafficWatcher",
    "build_schema",
    "load_spec",
    "replay_spool",
    "validation_message",
]
