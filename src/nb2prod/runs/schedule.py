"""Retraining policies, model expiry, due retrains and the Kubernetes CronJob that runs them.

A policy is a registry event (``action="policy"``, the policy in its evidence); the latest one
per deployment wins, so the history shows every change. A retrain is due when the live version
is older than ``max_age_days`` (it has *expired*) or when an alert named in ``on_alerts`` (by rule
name or metric) fired after the live version went live and after the last retrain that produced a
candidate (a refused or failed retrain leaves the trigger armed, so the next run tries again).
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from nb2prod.errors import UsageError
from nb2prod.models import RegistryEvent, RetrainPolicy, ScheduleItem
from nb2prod.store import Store

__all__ = ["cronjob_manifest", "due_retrains", "get_policy", "schedule_item", "set_policy"]

_CRON_FIELD = re.compile(r"^[\d*/,\-]+$")
_HISTORY = 10_000


def _validate(policy: RetrainPolicy) -> None:
    if policy.max_age_days is not None and (isinstance(policy.max_age_days, bool) or not policy.max_age_days > 0):
        raise UsageError(f"max_age_days must be positive, got {policy.max_age_days!r}", fix="e.g. 30, or None for no expiry")
    fields = policy.cron.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
        raise UsageError(f"{policy.cron!r} is not a five-field cron schedule", fix="e.g. '0 3 * * *' (03:00 daily)")


def _check_triggers(on_alerts: Sequence[str], known: Sequence[str]) -> None:
    # a trigger no rule can ever fire (a typo such as "data_drift") would silently never retrain
    valid = sorted(set(known))
    for trigger in on_alerts:
        if trigger not in valid:
            close = difflib.get_close_matches(trigger, valid, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UsageError(f"no alert rule or metric named {trigger!r}",
                             fix=f"{hint}valid triggers: {', '.join(repr(v) for v in valid)}")


def set_policy(store: Store, policy: RetrainPolicy, *, actor: str, known_triggers: Sequence[str] | None = None) -> RetrainPolicy:
    """Record ``policy`` as the retraining policy of its deployment (the deployment must exist).

    ``known_triggers``: the rule names and metrics an alert can carry for this deployment; when
    given, an ``on_alerts`` entry outside them is refused (it would never trigger a retrain).
    """
    from nb2prod.errors import NotFoundError

    _validate(policy)
    if known_triggers is not None:
        _check_triggers(policy.on_alerts, known_triggers)
    if not store.registry.versions(policy.name):
        raise NotFoundError(f"no deployment named {policy.name!r}", fix="deploy one with %deploy or `nb2prod deploy`")
    store.registry.record_event(RegistryEvent(
        name=policy.name, action="policy", version_id=store.registry.traffic(policy.name).live, actor=actor,
        reason=f"retraining policy: max age {policy.max_age_days} days, on alerts {', '.join(policy.on_alerts) or 'none'}, "
               f"{'automatic' if policy.auto_promote else 'approved'} promotion",
        evidence=policy.to_dict(),
    ))
    return policy


def get_policy(store: Store, name: str) -> RetrainPolicy | None:
    """The latest recorded retraining policy of ``name``, or ``None``."""
    for event in store.registry.events(name, limit=_HISTORY):
        if event.action == "policy":
            return RetrainPolicy.from_dict(event.evidence)
    return None


def _timestamp(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError):
        return None


def schedule_item(store: Store, name: str, *, now: float | None = None) -> ScheduleItem:
    """Whether ``name`` is due for retraining now, and why."""
    now = time.time() if now is None else now
    policy = get_policy(store, name)
    live = store.registry.traffic(name).live
    if live is None:
        return ScheduleItem(name=name, live_version=None, age_days=None, expired=False, due=False,
                            reasons=("no live version",), policy=policy)
    record = store.registry.get(live)
    created = _timestamp(record.created_at)
    age = None if created is None else max(0.0, (now - created) / 86_400)
    reasons: list[str] = []
    expired = bool(policy and policy.max_age_days is not None and age is not None and age > policy.max_age_days)
    if expired and policy is not None:
        reasons.append(f"expired: live for {age:.1f} days, max age {policy.max_age_days:g} days")
    if policy is not None and policy.on_alerts:
        events = store.registry.events(name, limit=_HISTORY)
        went_live = max((e.ts for e in events if e.version_id == live and e.action in {"deploy", "promote", "rollback"}),
                        default=created or 0.0)
        last_retrain = max((e.ts for e in events if e.action == "retrain" and e.evidence.get("step") == "result"
                            and e.evidence.get("status") not in {"refused", "failed"}), default=0.0)
        since = max(went_live, last_retrain)
        wanted = set(policy.on_alerts)
        fired = [a for a in store.alerts.list(name, limit=_HISTORY)
                 if a.ts > since and a.ts <= now and (a.rule in wanted or a.metric in wanted)]
        for rule in sorted({a.rule for a in fired}):
            latest = max((a for a in fired if a.rule == rule), key=lambda a: a.ts)
            reasons.append(f"alert {rule!r} fired ({latest.metric} = {latest.value:.4g}, threshold {latest.threshold:g})")
    return ScheduleItem(name=name, live_version=live, age_days=None if age is None else round(age, 3), expired=expired,
                        due=bool(reasons), reasons=tuple(reasons), policy=policy)


def due_retrains(store: Store, *, now: float | None = None) -> list[ScheduleItem]:
    """Every deployment's retraining status (due ones first)."""
    items = [schedule_item(store, name, now=now) for name in store.registry.names()]
    return sorted(items, key=lambda i: (not i.due, i.name))


def cronjob_manifest(
    *,
    image: str,
    schedule: str = "0 3 * * *",
    name: str = "nb2prod-retrain",
    namespace: str | None = None,
    store_secret: str = "nb2prod-store",
) -> dict[str, Any]:
    """A ``batch/v1`` CronJob running ``nb2prod schedule --run`` (retrain every due deployment).

    The store URL comes from the Secret ``store_secret`` (key ``url``): the cluster's job must
    reach the same registry/audit store as the services (PostgreSQL).
    """
    _validate(RetrainPolicy(name=name, cron=schedule))
    if not re.match(r"^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$", name):
        raise UsageError(f"{name!r} is not a valid Kubernetes name", fix="use lower-case letters, digits and '-'")
    metadata: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "nb2prod"}}
    if namespace:
        metadata["namespace"] = namespace
    container = {
        "name": "retrain",
        "image": image,
        "command": ["nb2prod", "schedule", "--run"],
        "env": [
            {"name": "NB2PROD_STORE_URL", "valueFrom": {"secretKeyRef": {"name": store_secret, "key": "url"}}},
            {"name": "BENTOML_DO_NOT_TRACK", "value": "True"},
        ],
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata,
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": name}},
                "spec": {"restartPolicy": "Never", "containers": [container]},
            }}},
        },
    }
