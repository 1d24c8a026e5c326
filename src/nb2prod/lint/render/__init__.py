"""Report renderers: plain text (terminal), JSON (the JupyterLab panel), SARIF 2.1.0 (code scanning), HTML (the magic)."""

from nb2prod.lint.render.html import render_html
from nb2prod.lint.render.json import render_json, reports_payload
from nb2prod.lint.render.sarif import render_sarif, sarif_log
from nb2prod.lint.render.text import render_text, summary

__all__ = ["render_html", "render_json", "render_sarif", "render_text", "reports_payload", "sarif_log", "summary"]
