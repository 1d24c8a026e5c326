"""Alerts that run by themselves: evaluate the rules, notify on status changes, deliver with retries.

One pass (:func:`evaluate_and_queue`) evaluates the rules on the window's merged profiles and
records each rule's status; a change — ``ok`` → ``firing`` or ``firing`` → ``ok`` — queues one
Slack-compatible message (``{"text", "blocks"}``) in the store, in the transaction that records it.
A rule firing for ten minutes is therefore sent once, and its resolution once. Rules without a
verdict (too few rows, no value) keep their last status. :func:`deliver_due` POSTs the queued
messages; a failure is retried later with exponential backoff, so a webhook that is down delays
notifications but never the evaluator (which runs in its own thread, away from predictions).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nb2prod.models import AlertCheck, AlertRule
from nb2prod.monitor.alerts import DEFAULT_RULES, evaluate_rules, post_webhook
from nb2prod.monitor.business import BusinessMetric

__all__ = ["BACKOFF_MAX_S", "BACKOFF_S", "Delivery", "backoff_s", "deliver_due", "evaluate_and_queue", "slack_payload"]

BACKOFF_S = 5.0  # first retry after a failed POST
BACKOFF_MAX_S = 600.0  # retries never wait longer than this


def backoff_s(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed POST: 5, 10, 20 … capped at ten minutes."""
    return float(min(BACKOFF_S * 2 ** max(attempts - 1, 0), BACKOFF_MAX_S))


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def slack_payload(name: str, version_id: str | None, check: AlertCheck, *, kind: str, now: float) -> dict[str, Any]:
    """The message for one status change, as Slack's incoming webhooks take it: ``text`` + ``blocks``."""
    rule = check.rule
    version = f" ({version_id})" if version_id else ""
    if kind == "firing":
        headline = f":rotating_light: {name}{version}: {rule.name} is firing"
        detail = f"{rule.metric} = {_number(check.value)} {rule.op} {rule.threshold:g} over {rule.window} (n={check.count})"
    else:
        headline = f":white_check_mark: {name}{version}: {rule.name} resolved"
        detail = f"{rule.metric} = {_number(check.value)}, no longer {rule.op} {rule.threshold:g} over {rule.window} (n={check.count})"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    return {
        "text": f"[nb2prod] {headline} — {detail}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*\n{detail}"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"nb2prod · deployment `{name}` · {stamp}"}]},
        ],
    }


def evaluate_and_queue(
    store: Any,
    ref: str,
    rules: Sequence[AlertRule] = DEFAULT_RULES,
    *,
    now: float | None = None,
    notify: bool = True,
    business: Mapping[str, BusinessMetric] | None = None,
) -> list[AlertCheck]:
    """Evaluate ``rules`` for deployment ``ref``; record status changes, queue their messages if ``notify``."""
    now = time.time() if now is None else now
    checks, reports = evaluate_rules(store, ref, rules, now=now, business=business, record=False)
    for check in checks:
        if check.status not in ("firing", "ok"):
            continue
        report = reports[check.rule.window]
        kind = "firing" if check.status == "firing" else "resolved"
        payload = slack_payload(report.name, report.version_id, check, kind=kind, now=now) if notify else None
        fired = None
        if check.status == "firing" and check.value is not None:
            fired = {"name": report.name, "rule": check.rule.name, "metric": check.rule.metric, "value": float(check.value),
                     "threshold": check.rule.threshold, "window": check.rule.window, "ts": now}
        store.alert_states.transition(report.name, check.rule.name, check.status, check.value, now, payload=payload, fired=fired)
    return checks


@dataclass(frozen=True)
class Delivery:
    """One POST attempt: which message, and the error (None when the webhook took it)."""

    message_id: int
    kind: str
    rule: str
    error: str | None


def deliver_due(
    store: Any,
    webhook: str,
    *,
    now: float | None = None,
    name: str | None = None,
    post: Callable[[str, dict[str, Any]], str | None] = post_webhook,
    timeout_s: float = 5.0,
) -> list[Delivery]:
    """POST every queued message that is due (oldest first); failures are rescheduled with backoff."""
    now = time.time() if now is None else now
    done: list[Delivery] = []
    for _ in range(10):  # a delivered message may unblock the next one of its rule: claim again
        claimed = store.alert_states.claim_due(now, hold_s=4 * timeout_s, name=name)
        for message in claimed:
            error = post(webhook, message.payload)
            if error is None:
                store.alert_states.delivered(message.id, now)
            else:
                store.alert_states.failed(message.id, error, now + backoff_s(message.attempts + 1))
            done.append(Delivery(message.id, message.kind, message.rule, error))
        if not claimed or any(d.error is not None for d in done):
            break
    return done
