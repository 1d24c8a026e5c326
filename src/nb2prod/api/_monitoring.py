"""The core API's monitoring part: drift, concept drift, fairness, operations, alerts, reports, profile upkeep."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from nb2prod.models import AlertCheck, AlertEvent, AlertRule, ConceptDriftResult, DriftResult, FairnessResult, MonitorReport, OperationsResult

from nb2prod.api._base import WorkspaceBase

__all__ = ["Monitoring"]


class Monitoring(WorkspaceBase):
    """The core API's monitoring part: drift, concept drift, fairness, operations, alerts, reports, profile upkeep."""

    # -- monitoring ---------------------------------------------------------------
    def monitor(
        self,
        name: str,
        *,
        window: str = "1h",
        until: float | None = None,
        business: dict[str, Callable[..., float]] | None = None,
        alpha: float = 0.05,
        min_effect: float = 0.1,
        min_group_size: int = 30,
        n_windows: int = 12,
        metric: str | None = None,
    ) -> MonitorReport:
        """Drift, concept drift, fairness, operations and business metrics of ``name`` (or ``NAME:VERSION``) over ``window``."""
        from nb2prod.monitor.snapshot import monitor_snapshot

        return monitor_snapshot(
            self.store, name, window=window, until=until, business=business, alpha=alpha, min_effect=min_effect,
            min_group_size=min_group_size, n_windows=n_windows, metric=metric,
        )

    def drift(
        self, name: str, *, window: str = "1h", until: float | None = None, alpha: float = 0.05, min_effect: float = 0.1
    ) -> DriftResult:
        """Per-feature data drift of the live inputs against the deploy-time reference sketches (from the ingest profiles)."""
        from nb2prod.monitor.snapshot import window_drift

        return window_drift(self.store, name, window=window, until=until, alpha=alpha, min_effect=min_effect)

    def concept_drift(
        self, name: str, *, window: str = "1d", until: float | None = None, metric: str | None = None, n_windows: int = 12
    ) -> ConceptDriftResult:
        """Live metric (from feedback labels) vs validation metric, with bootstrap CIs and ADWIN."""
        return self.monitor(name, window=window, until=until, metric=metric, n_windows=n_windows).concept  # type: ignore[return-value]

    def fairness(
        self, name: str, *, window: str = "1d", until: float | None = None, min_group_size: int = 30
    ) -> FairnessResult | None:
        """Selection and error rates per protected group, disparate impact and the four-fifths verdict."""
        return self.monitor(name, window=window, until=until, min_group_size=min_group_size).fairness

    def operations(self, name: str, *, window: str = "1h", until: float | None = None) -> OperationsResult:
        """Latency percentiles, throughput and error/fallback/guardrail/override rates by version and window."""
        return self.monitor(name, window=window, until=until).operations

    def evaluate_alerts(
        self,
        name: str,
        rules: Sequence[AlertRule] | str | Path | None = None,
        *,
        webhook: str | None = None,
        business: dict[str, Callable[..., float]] | None = None,
        now: float | None = None,
    ) -> list[AlertCheck]:
        """Evaluate alert rules (a rules file, rule objects, or the defaults); record and POST the firing ones."""
        from nb2prod.monitor.alerts import DEFAULT_RULES, evaluate_rules, load_rules

        chosen = DEFAULT_RULES if rules is None else load_rules(rules) if isinstance(rules, (str, Path)) else rules
        checks, _ = evaluate_rules(self.store, name, chosen, webhook=webhook, business=business, now=now)
        return checks

    # -- inputs the fronts read before calling (they import no feature package) ------
    @staticmethod
    def alert_rules(path: str | Path | None = None) -> list[AlertRule]:
        """The rules in ``path`` (YAML or JSON), else the built-in ones; a bad file fails here, before any evaluation."""
        from nb2prod.monitor.alerts import DEFAULT_RULES, load_rules

        return load_rules(path) if path else list(DEFAULT_RULES)

    @staticmethod
    def business_metrics(specs: Sequence[str]) -> dict[str, Callable[..., float]]:
        """``MODULE:FUNC`` (or ``file.py:FUNC``) specs as the ``business`` mapping ``monitor`` and alerts take."""
        from nb2prod.monitor.business import load_business_metric

        return dict(load_business_metric(s) for s in specs)

    def rebuild_profiles(self, name: str, *, since: str | None = None) -> int:
        """Recompute ``name``'s monitoring profiles from its audit rows (all, or the last ``since`` window); rows folded."""
        import time as _time

        from nb2prod.monitor.windows import window_bounds

        start = window_bounds(since, _time.time())[0] if since else None
        return self.store.audit.profiles.rebuild(name, since=start)

    def prune_audit(self, older_than: str, *, name: str | None = None) -> int:
        """Delete audit rows (with their feedback and overrides) older than ``older_than``; monitoring profiles stay."""
        import time as _time

        from nb2prod.errors import UsageError
        from nb2prod.monitor.windows import window_bounds

        cutoff = window_bounds(older_than, _time.time())[0]
        if cutoff is None:
            raise UsageError("retention must be a duration, not 'all'", fix="e.g. --older-than 30d")
        return self.store.audit.profiles.delete_audit_before(cutoff, name=name)

    def profile_storage(self, name: str | None = None) -> dict[str, float]:
        """Profile rows, bytes and bytes per bucket (a minute of one deployment, version and arm)."""
        return self.store.audit.profiles.storage(name)

    def alerts(self, name: str | None = None, *, limit: int = 50) -> list[AlertEvent]:
        """Recorded alerts, newest first."""
        return self.store.alerts.list(name, limit=limit)

    def report(self, name: str, *, html: str | Path | None = None, window: str = "1d", until: float | None = None) -> dict[str, Any]:
        """Evidently's deep HTML data-drift report of ``name`` over ``window`` (default path under ``reports/``)."""
        import time as _time

        from nb2prod.monitor.report import html_report

        target = Path(html) if html is not None else self.settings.reports_dir / f"{name.replace(':', '_')}-{int(_time.time())}.html"
        return html_report(self.store, name, target, window=window, until=until)

    def drift_series(
        self, name: str, *, window: str = "1d", points: int | None = None, until: float | None = None, alpha: float = 0.05,
        min_effect: float = 0.1,
    ) -> list[DriftResult]:
        """Per-feature drift in ``points`` equal sub-windows of ``window`` (oldest first); sub-windows under 30 rows are left out.

        ``points=None`` picks the width from the window (a day: 48 half-hour points).
        """
        from nb2prod.monitor.snapshot import drift_series

        return drift_series(self.store, name, window=window, points=points, until=until, alpha=alpha, min_effect=min_effect)

    def monitor_with_series(
        self, name: str, *, window: str = "1d", points: int | None = None, until: float | None = None, alpha: float = 0.05,
        min_effect: float = 0.1,
    ) -> tuple[MonitorReport, list[DriftResult]]:
        """``monitor`` and ``drift_series`` at the same ``points`` from one read of the window's profiles (a dashboard refresh)."""
        from nb2prod.monitor.snapshot import monitor_with_series

        return monitor_with_series(self.store, name, window=window, points=points, until=until, alpha=alpha, min_effect=min_effect)
