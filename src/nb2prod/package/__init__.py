"""Packaging a notebook's model into a proved, versioned BentoML service (``%deploy``).

Modules: ``capture`` (notebook-defined code → source), ``artifact`` (``save_model``/``load_model``,
the one loader), ``environment`` (pins from the live interpreter), ``schema`` (input schema and
guardrails), ``evaluate`` (task, fitted check, metrics), ``gate`` (validation and schema gates),
``fingerprint``, ``render`` (templates), ``proof`` (fresh-process load-and-predict), ``deploy``
(the orchestration), ``serving`` (local serve/stop). Running a notebook to deploy it and rebuilding a version live in :mod:`nb2prod.runs`.
"""

from __future__ import annotations

__all__: list[str] = []
