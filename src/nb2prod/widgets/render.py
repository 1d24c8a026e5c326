"""HTML for results shown in a notebook: the deploy card's body.

Plain HTML (no ipywidgets import), so static renderers such as nbconvert can show it without the
widget state. The record has no ``_repr_html_`` of its own: the models are core code and never
import a front; ``%load_ext nb2prod`` registers the card as the record's notebook display.
"""

from __future__ import annotations

import html

from nb2prod.models import DeployResult

__all__ = ["deploy_result_html"]


def deploy_result_html(result: DeployResult) -> str:
    """The deploy card's body: identity, URL, metrics, gate checks, proof, warnings."""
    def esc(value: object) -> str:
        return html.escape(f"{value:.4g}" if isinstance(value, float) else str(value))

    link_style = "color:var(--jp-content-link-color,#1976d2);text-decoration:underline"
    if result.shadow_percent is not None:
        link = (f"none of its own: it sees {result.shadow_percent:g}% of the requests sent to the live version "
                f"{esc(result.parent or '-')}, whose answers are the ones returned")
    elif result.url:
        link = f"<a href='{esc(result.url)}' target='_blank' title='the service: Swagger UI' style='{link_style}'>{esc(result.url)}</a>"
    else:
        link = "not served (use --serve)"
    relation = ("shadows", esc(result.parent or "-")) if result.shadow_percent is not None else ("replaces", esc(result.parent or "-"))
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:12px'>{k}</th><td style='text-align:left'>{v}</td></tr>"
        for k, v in (
            ("version", esc(result.version_id)),
            ("url", link),
            ("metrics", " · ".join(f"<b>{esc(k)}</b> {esc(v)}" for k, v in result.metrics.items()) or "no holdout"),
            ("proof", f"{esc(result.proof.get('rows', 0))} sample rows match in a fresh process"),
            ("bento", esc(result.bento_tag)),
            relation,
            ("notebook code", esc(", ".join(result.captured) or "-")),
            ("took", f"{result.duration_s:.1f} s"),
        )
    )
    checks = " ".join(
        f"<span style='margin-right:10px;color:{'#2e7d32' if c.get('passed') else '#d0021b'}'>"
        f"{'✔' if c.get('passed') else '✘'} {esc(c.get('metric') or c.get('check') or 'gate')}"
        + (f" {esc(c['value'])} vs {esc(c['limit'])}" if c.get("value") is not None and c.get("limit") is not None else "")
        + "</span>"
        for c in result.gate
    )
    warnings = "".join(f"<li>{esc(w)}</li>" for w in result.warnings)
    return (
        "<div style='border:1px solid #8884;border-radius:6px;padding:8px 12px;max-width:720px'>"
        f"<div style='font-weight:bold;margin-bottom:4px'>nb2prod: deployed {esc(result.name)}</div><table>{rows}</table>"
        + (f"<div style='margin-top:4px'>gate: {checks}</div>" if checks else "")
        + (f"<ul style='color:#b26a00;margin:4px 0 0 0'>{warnings}</ul>" if warnings else "")
        + "</div>"
    )
