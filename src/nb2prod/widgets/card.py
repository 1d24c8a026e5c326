"""The deployment card ``%deploy`` returns: what was deployed, where, and how it was checked."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

__all__ = ["card_html", "deployment_card"]

_KEYS = ("name", "version_id", "url", "state", "bento_tag", "deployment_dir", "duration_s")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    return html.escape(str(value))


def card_html(result: dict[str, Any]) -> str:
    """HTML of the card: identity rows, metrics, gates/checks and any warnings in ``result``."""
    rows = "".join(f"<tr><th style='text-align:left;padding-right:12px'>{k.replace('_', ' ')}</th><td>{_fmt(result[k])}</td></tr>"
                   for k in _KEYS if result.get(k) not in (None, ""))
    metrics = result.get("metrics") or (result.get("record") or {}).get("metrics") or {}
    metric_html = " ".join(f"<span style='margin-right:10px'><b>{html.escape(str(k))}</b> {_fmt(v)}</span>"
                           for k, v in metrics.items())
    checks = result.get("checks") or result.get("gates") or {}
    if isinstance(checks, dict):
        checks = [{"name": k, "ok": v.get("ok") if isinstance(v, dict) else bool(v)} for k, v in checks.items()]
    check_html = " ".join(
        f"<span style='margin-right:8px;color:{'#2e7d32' if c.get('ok') else '#d0021b'}'>{'✔' if c.get('ok') else '✘'} "
        f"{html.escape(str(c.get('name', '')))}</span>" for c in checks if isinstance(c, dict)
    )
    warnings = "".join(f"<li>{html.escape(str(x))}</li>" for x in result.get("warnings") or [])
    name = html.escape(str(result.get("name", "deployment")))
    return (
        "<div style='font:13px sans-serif;border:1px solid #ccc;border-radius:6px;padding:10px;max-width:640px'>"
        f"<div style='font-size:15px;font-weight:bold;margin-bottom:6px'>{name}</div>"
        f"<table>{rows}</table>"
        + (f"<div style='margin-top:6px'>{metric_html}</div>" if metric_html else "")
        + (f"<div style='margin-top:6px'>{check_html}</div>" if check_html else "")
        + (f"<ul style='color:#b26a00;margin:6px 0 0 0'>{warnings}</ul>" if warnings else "")
        + (f"<div style='margin-top:6px;color:#555'>monitor it with <code>%nb2prod monitor {name}</code></div>")
        + "</div>"
    )


def deployment_card(result: Any) -> w.HTML:
    """An ``ipywidgets.HTML`` card for a deploy result (a dict, or a record with ``to_dict()``)."""
    data = result.to_dict() if hasattr(result, "to_dict") else dict(result)
    return w.HTML(value=card_html(data))
