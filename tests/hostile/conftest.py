"""Hostile-client tests reuse the monitoring suite's seeded workspace (a registered credit model with audit rows)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location("_monitor_fixtures", Path(__file__).parent.parent / "monitor" / "conftest.py")
assert _spec is not None and _spec.loader is not None
_monitor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_monitor)

credit_model = _monitor.credit_model
seeded = _monitor.seeded
