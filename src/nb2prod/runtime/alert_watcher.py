"""The service's alert evaluator: the rules every ``period_s`` from the profiles, under a lease.

Every replica (and, behind a gateway, every version's service) runs this thread; only the holder of
the store lease ``alerts:<deployment>`` evaluates and delivers, so N replicas send one message.
If the holder dies its lease lapses after ``3 × period_s`` and another replica takes over. The
thread wakes more often than it evaluates (every ``tick_s``) to retry failed deliveries on time.
Everything here runs off the request path: predictions never wait for the store, the rules or the
webhook.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nb2prod.models import AlertRule

if TYPE_CHECKING:
    from nb2prod.runtime.audit_writer import StoreHandle
    from nb2prod.settings import Settings

__all__ = ["AlertWatcher", "start_alert_watcher"]

log = logging.getLogger("nb2prod.runtime")


class AlertWatcher:
    """Evaluates ``rules`` for deployment ``name`` and delivers status changes to ``webhook``."""

    def __init__(
        self,
        name: str,
        store: StoreHandle,
        *,
        period_s: float = 60.0,
        webhook: str | None = None,
        rules: Sequence[AlertRule] | None = None,
        holder: str | None = None,
        tick_s: float | None = None,
    ) -> None:
        self.name = name
        self.store = store
        self.period_s = period_s
        self.webhook = webhook
        self.rules = rules
        self.holder = (holder or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}")[:128]
        self.tick_s = tick_s if tick_s is not None else max(0.05, min(period_s, 5.0))
        self.lease_ttl_s = max(3 * period_s, 3 * self.tick_s)
        self.evaluations = 0
        self.sent = 0
        self.failed = 0
        self.leader = False
        self.last_error: str | None = None
        self._next_eval = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, name: str, store: StoreHandle, settings: Settings, *, holder: str | None = None) -> AlertWatcher:
        """The watcher the settings describe (rules file or the default rules)."""
        rules = None
        if settings.alert_rules is not None:
            from nb2prod.monitor.alerts import load_rules

            rules = load_rules(settings.alert_rules)
        return cls(name, store, period_s=settings.alert_eval_s, webhook=settings.alert_webhook, rules=rules, holder=holder)

    def start(self) -> AlertWatcher:
        if self.period_s > 0:
            self._thread = threading.Thread(target=self._run, name="nb2prod-alerts", daemon=True)
            self._thread.start()
        return self

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.leader:
            try:
                self.store.get().leases.release(self._lease, self.holder)  # a successor need not wait for expiry
            except Exception as exc:  # the store may be gone at shutdown: the lease simply expires
                log.debug("alert lease not released: %s", exc)
            self.leader = False

    @property
    def _lease(self) -> str:
        return f"alerts:{self.name}"

    def run_once(self, now: float | None = None) -> bool:
        """One tick: take or keep the lease; evaluate when due; deliver what is due. True when leader."""
        from nb2prod.monitor.alert_notify import deliver_due, evaluate_and_queue
        from nb2prod.monitor.alerts import DEFAULT_RULES

        store = self.store.get()
        self.leader = store.leases.try_acquire(self._lease, self.holder, self.lease_ttl_s)
        if not self.leader:
            return False
        now = time.time() if now is None else now
        if now >= self._next_eval:
            self._next_eval = now + self.period_s
            evaluate_and_queue(store, self.name, self.rules or DEFAULT_RULES, now=now, notify=self.webhook is not None)
            self.evaluations += 1
        if self.webhook is not None:
            for delivery in deliver_due(store, self.webhook, name=self.name, now=now):
                if delivery.error is None:
                    self.sent += 1
                else:
                    self.failed += 1
                    log.warning("alert %r (%s) not delivered, will retry: %s", delivery.rule, delivery.kind, delivery.error)
        return True

    def _run(self) -> None:
        # the first pass one period after start: a service that just started has no window to judge
        # yet, and a short-lived one (tests, a crash loop) never pays for an evaluation
        if self._stop.wait(self.period_s):
            return
        while not self._stop.is_set():
            try:
                self.run_once()
                self.last_error = None
            except Exception as exc:  # store down, no reference yet, bad rules: report, keep serving, retry
                text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
                if text != self.last_error:
                    log.warning("alerts not evaluated: %s", text)
                self.last_error = text
            self._stop.wait(self.tick_s)

    def snapshot(self) -> dict[str, Any]:
        return {
            "period_s": self.period_s, "webhook": self.webhook is not None, "leader": self.leader,
            "evaluations": self.evaluations, "sent": self.sent, "failed_deliveries": self.failed, "last_error": self.last_error,
        }


def start_alert_watcher(name: str, store: StoreHandle, *, env: dict[str, str] | None = None) -> AlertWatcher | None:
    """Start the evaluator the environment configures (see :class:`~nb2prod.settings.Settings`).

    Bad alert settings (a malformed webhook URL, an unreadable rules file) are logged and leave the
    service serving without automatic alerts, rather than stopping it.
    """
    from nb2prod.errors import Nb2prodError
    from nb2prod.settings import Settings

    try:
        watcher = AlertWatcher.from_settings(name, store, Settings.from_env(env))
    except Nb2prodError as exc:
        log.error("automatic alerts off: %s", exc)
        return None
    return watcher.start()
