"""Monitoring from the audit store and the reference sketches saved at deploy time.

- :mod:`~nb2prod.monitor.reference` — ``build_reference`` (called by the deploy step)
- :mod:`~nb2prod.monitor.drift` — per-feature data drift, Benjamini–Hochberg, dataset score
- :mod:`~nb2prod.monitor.concept` — live vs validation metric, bootstrap CIs, ADWIN, concept score
- :mod:`~nb2prod.monitor.fairness` — selection/error rates per group, four-fifths rule
- :mod:`~nb2prod.monitor.operations` — latency, throughput, error/fallback/guardrail/override rates
- :mod:`~nb2prod.monitor.business` — user business metrics over audit rows + feedback
- :mod:`~nb2prod.monitor.alerts` — declarative alert rules, store journal, webhook
- :mod:`~nb2prod.monitor.snapshot` — one pass over a window, flattened metrics
"""

from __future__ import annotations

from nb2prod.monitor.drift import benjamini_hochberg, compute_drift
from nb2prod.monitor.reference import build_reference, load_reference, save_reference

__all__ = ["benjamini_hochberg", "build_reference", "compute_drift", "load_reference", "save_reference"]
