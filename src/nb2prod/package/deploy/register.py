"""Step 8, register: the new version goes live (the old one retires), or shadows the live one."""

from __future__ import annotations

from typing import Any

from nb2prod.models import RegistryEvent, Traffic, VersionRecord, VersionState
from nb2prod.package.deploy.undo import Undo
from nb2prod.store import Store

__all__ = ["register"]


def register(store: Store, record: VersionRecord, *, live_id: str | None, shadow: float | None, actor: str,
             evidence: dict[str, Any], undo: Undo) -> None:
    """Add ``record`` and route traffic to it in the registry, noting in ``undo`` how to put routing back."""
    name, version_id = record.name, record.version_id
    traffic = store.registry.traffic(name)
    undo.previous_traffic = traffic if live_id else Traffic(name=name)
    if shadow is not None and live_id:
        store.registry.add_version(record, state=VersionState.SHADOW)
        undo.version_id = version_id
        replaced = traffic.shadow
        if replaced:
            undo.previous_live_state = (replaced, store.registry.state(replaced))
            store.registry.set_state(replaced, VersionState.CANDIDATE)
        store.registry.set_traffic(
            Traffic(**{**traffic.to_dict(), "shadow": version_id, "shadow_percent": float(shadow)}),
            RegistryEvent(
                name=name, action="shadow", version_id=version_id, actor=actor,
                reason=f"deployed {version_id} as a shadow of {live_id} on {shadow:g}% of live requests",
                evidence={**evidence, "percent": float(shadow), "replaced": replaced},
            ),
            expected=traffic,
        )
        return
    store.registry.add_version(record, state=VersionState.LIVE)
    undo.version_id = version_id
    if live_id:
        undo.previous_live_state = (live_id, store.registry.state(live_id))
        store.registry.set_state(live_id, VersionState.RETIRED)
    store.registry.set_traffic(
        Traffic(name=name, live=version_id),
        RegistryEvent(
            name=name, action="deploy", version_id=version_id, actor=actor,
            reason=f"deployed {version_id}" + (f" replacing {live_id}" if live_id else ""),
            evidence=evidence,
        ),
        expected=traffic,
    )
