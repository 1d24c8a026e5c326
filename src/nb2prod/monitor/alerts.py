"""Declarative alert rules, evaluated over monitoring snapshots, recorded in the store.

A rules file (YAML or JSON) is a list — or ``{"rules": [...]}`` — of::

    - name: inputs drifted          # optional; defaults to "<metric> <op> <threshold>"
      metric: drift.score           # any name from MonitorReport.metrics (see `nb2prod monitor --json`)
      op: ">"                       # > >= < <= == !=
      threshold: 0.2
      window: 1h                    # 30m, 1h, 7d, all
      min_count: 200                # fewer rows (labelled rows for concept.*) → no verdict
      cooldown_s: 3600              # optional; default: the window length

A firing rule is recorded in ``store.alerts`` and POSTed to the webhook (if given) unless the
same rule already fired within its cooldown.
"""

from __future__ import annotations

import json
import math
import operator
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nb2prod.errors import InvalidInputError, NotFoundError, UsageError
from nb2prod.models import AlertCheck, AlertEvent, AlertRule, MonitorReport
from nb2prod.monitor.business import BusinessMetric
from nb2prod.monitor.snapshot import metric_count, monitor_snapshot
from nb2prod.monitor.windows import parse_window

__all__ = ["DEFAULT_RULES", "OPS", "check_rule", "evaluate_rules", "load_rules", "parse_rules", "post_webhook"]

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}

DEFAULT_RULES: tuple[AlertRule, ...] = (
    AlertRule(name="data drift", metric="drift.score", op=">", threshold=0.0, window="1h", min_count=100),
    AlertRule(name="concept drift", metric="concept.score", op=">", threshold=0.0, window="1d", min_count=100),
    AlertRule(name="four-fifths rule", metric="fairness.di_ratio", op="<", threshold=0.8, window="1d", min_count=100),
    AlertRule(name="error rate", metric="ops.error_rate", op=">", threshold=0.05, window="1h", min_count=50),
    AlertRule(name="fallback rate", metric="ops.fallback_rate", op=">", threshold=0.1, window="1h", min_count=50),
    AlertRule(name="latency p95", metric="ops.latency_p95_ms", op=">", threshold=250.0, window="1h", min_count=50),
)


def parse_rules(data: Any, *, source: str = "rules") -> list[AlertRule]:
    """Validate rules given as a list of mappings (or ``{"rules": [...]}``)."""
    if isinstance(data, Mapping) and "rules" in data:
        data = data["rules"]
    if not isinstance(data, list) or not data:
        raise InvalidInputError(f"{source} holds no list of rules", fix="write a list of {metric, threshold, ...} entries")
    rules = []
    for i, item in enumerate(data, 1):
        where = f"{source} rule {i}"
        if not isinstance(item, Mapping):
            raise InvalidInputError(f"{where} is not a mapping", fix="give metric, threshold, op, window, min_count")
        unknown = set(item) - {"name", "metric", "threshold", "op", "window", "min_count", "cooldown_s"}
        if unknown:
            raise InvalidInputError(f"{where} has unknown key(s) {', '.join(sorted(unknown))}", fix="remove them")
        metric = item.get("metric")
        if not isinstance(metric, str) or not metric:
            raise InvalidInputError(f"{where} has no metric", fix="add e.g. metric: drift.score")
        threshold = item.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
            raise InvalidInputError(f"{where} needs a numeric threshold", fix="add e.g. threshold: 0.2")
        op = str(item.get("op", ">"))
        if op not in OPS:
            raise InvalidInputError(f"{where} has bad op {op!r}", fix=f"use one of {' '.join(OPS)}")
        window = str(item.get("window", "1h"))
        try:
            parse_window(window)
        except UsageError as exc:
            raise InvalidInputError(f"{where}: {exc.message}", fix=exc.fix) from exc
        min_count = item.get("min_count", 1)
        if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 0:
            raise InvalidInputError(f"{where} needs a non-negative integer min_count", fix="e.g. min_count: 100")
        cooldown = item.get("cooldown_s")
        if cooldown is not None and (not isinstance(cooldown, (int, float)) or cooldown < 0):
            raise InvalidInputError(f"{where} needs a non-negative cooldown_s", fix="e.g. cooldown_s: 3600")
        name = str(item.get("name") or f"{metric} {op} {threshold:g}")
        rules.append(AlertRule(name=name, metric=metric, threshold=float(threshold), op=op, window=window,
                               min_count=min_count, cooldown_s=None if cooldown is None else float(cooldown)))
    return rules


def load_rules(path: str | Path) -> list[AlertRule]:
    """Read rules from a ``.yaml``/``.yml`` or ``.json`` file."""
    source = Path(path)
    if not source.is_file():
        raise NotFoundError(f"no rules file {source}", fix="give the path of a YAML or JSON rules file")
    text = source.read_text(encoding="utf-8")
    try:
        if source.suffix.lower() in {".yaml", ".yml"}:
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except ValueError as exc:
        raise InvalidInputError(f"cannot parse {source}: {str(exc).splitlines()[0]}", fix="fix the file's syntax") from exc
    except Exception as exc:  # yaml.YAMLError does not subclass ValueError
        raise InvalidInputError(f"cannot parse {source}: {str(exc).splitlines()[0]}", fix="fix the file's syntax") from exc
    return parse_rules(data, source=source.name)


def check_rule(rule: AlertRule, report: MonitorReport) -> AlertCheck:
    """Evaluate one rule on a snapshot (no side effects)."""
    count = metric_count(report, rule.metric)
    if rule.metric not in report.metrics:
        return AlertCheck(rule=rule, status="no_value", value=None, count=count, note=f"no metric {rule.metric!r} in this window")
    value = report.metrics[rule.metric]
    if value is None:
        return AlertCheck(rule=rule, status="no_value", value=None, count=count, note="not computable in this window")
    if count < rule.min_count:
        return AlertCheck(rule=rule, status="insufficient_data", value=value, count=count,
                          note=f"{count} rows < min_count {rule.min_count}")
    firing = OPS[rule.op](value, rule.threshold)
    return AlertCheck(rule=rule, status="firing" if firing else "ok", value=value, count=count)


def post_webhook(url: str, payload: dict[str, Any], *, timeout_s: float = 5.0) -> str | None:
    """POST ``payload`` as JSON; the error text on failure, ``None`` on a 2xx answer."""
    import httpx

    try:
        response = httpx.post(url, json=payload, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return f"webhook failed: {type(exc).__name__}: {exc}"
    if response.status_code >= 300:
        return f"webhook answered HTTP {response.status_code}"
    return None


def _recently_fired(store: Any, name: str, rule: AlertRule, now: float) -> AlertEvent | None:
    seconds = parse_window(rule.window)
    cooldown = rule.cooldown_s if rule.cooldown_s is not None else (seconds if seconds is not None else 3600.0)
    for event in store.alerts.list(name, limit=500):
        if event.rule == rule.name and now - event.ts < cooldown:
            return event
    return None


def evaluate_rules(
    store: Any,
    ref: str,
    rules: Sequence[AlertRule] = DEFAULT_RULES,
    *,
    now: float | None = None,
    business: Mapping[str, BusinessMetric] | None = None,
    webhook: str | None = None,
    record: bool = True,
) -> tuple[list[AlertCheck], dict[str, MonitorReport]]:
    """Evaluate ``rules`` (one snapshot per distinct window), record and deliver the firing ones."""
    now = time.time() if now is None else now
    reports: dict[str, MonitorReport] = {}
    checks: list[AlertCheck] = []
    for rule in rules:
        if rule.window not in reports:
            reports[rule.window] = monitor_snapshot(store, ref, window=rule.window, until=now, business=business, timeline=False)
        report = reports[rule.window]
        check = check_rule(rule, report)
        value = check.value
        if check.status == "firing" and record and value is not None:
            previous = _recently_fired(store, report.name, rule, now)
            if previous is not None:
                check = AlertCheck(rule=rule, status="firing", value=check.value, count=check.count, alert=previous,
                                   note="already alerted within the cooldown; not repeated")
            else:
                event = AlertEvent(name=report.name, rule=rule.name, metric=rule.metric, value=float(value),
                                   threshold=rule.threshold, window=rule.window, ts=now)
                alert_id = store.alerts.add(event)
                note = ""
                delivered = False
                if webhook:
                    payload = {
                        "deployment": report.name, "version_id": report.version_id, "rule": rule.to_dict(),
                        "value": check.value, "count": check.count, "ts": now,
                        "text": f"[nb2prod] {report.name}: {rule.name} — {rule.metric} = {check.value:.4g} "
                                f"{rule.op} {rule.threshold:g} over {rule.window}",
                    }
                    failure = post_webhook(webhook, payload)
                    if failure is None:
                        store.alerts.mark_delivered(alert_id)
                        delivered = True
                    else:
                        note = failure
                event = AlertEvent(**{**event.to_dict(), "id": alert_id, "delivered": delivered})
                check = AlertCheck(rule=rule, status="firing", value=check.value, count=check.count, alert=event, note=note)
        checks.append(check)
    return checks, reports
