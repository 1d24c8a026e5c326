"""A late shadow answer is counted as a timeout (not compared), never as a candidate error — in the
runner's stats and in the Prometheus series alike."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from nb2prod.runtime.audit_writer import AuditWriter, StoreHandle
from nb2prod.runtime.metrics import RuntimeMetrics
from nb2prod.runtime.predictor import Outputs
from nb2prod.runtime.shadow import ShadowJob, ShadowRunner


class _Fake:
    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour

    def predict_rows(self, rows: list[dict[str, Any]]) -> Outputs:
        if self.behaviour == "slow":
            time.sleep(0.3)
        if self.behaviour == "raise":
            raise ValueError("candidate broke")
        n = len(rows)
        return Outputs(decisions=[1] * n, scores=[0.7] * n, probabilities=[None] * n)


def test_timeouts_errors_and_answers_are_counted_apart(tmp_path: Path) -> None:
    writer = AuditWriter(tmp_path / "spool", StoreHandle(f"sqlite:///{tmp_path / 'audit.db'}")).start()
    metrics = RuntimeMetrics("shadow-counts", "v1")

    def series() -> dict[str, float]:
        return {k: metrics._child("shadow", k)._value.get() for k in ("ok", "error", "timeout")}

    before = series()
    runner = ShadowRunner(writer, capacity=100, timeout_s=0.1, batch_wait_s=0.0, metrics=metrics).start()
    try:
        plan = {"slow": (_Fake("slow"), 3), "raise": (_Fake("raise"), 1), "fine": (_Fake("fine"), 5)}
        for name, (predictor, n) in plan.items():
            jobs = [ShadowJob(f"{name}-{i}", {"x": i}, f"v-{name}", predictor) for i in range(n)]
            assert all(runner.reserve() for _ in jobs)
            runner.submit(jobs)
            deadline = time.monotonic() + 30
            while runner.stats()["predicted"] < sum(m for _, m in list(plan.values())[: list(plan).index(name) + 1]):
                assert time.monotonic() < deadline
                time.sleep(0.01)
        stats = runner.stats()
    finally:
        runner.close(5)
        writer.close(5)
    assert (stats["predicted"], stats["timeouts"], stats["failed"]) == (9, 3, 1)
    after = series()
    assert {k: after[k] - before[k] for k in after} == {"ok": 5, "error": 1, "timeout": 3}
