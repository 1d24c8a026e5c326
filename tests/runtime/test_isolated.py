"""A shadow batch that overruns its deadline is given up on without killing the shadow's process."""

from __future__ import annotations

from pathlib import Path

import pytest
from runtime_folder import sample_rows

from nb2prod.runtime.isolated import IsolatedPredictor, ShadowProcessError

pytestmark = pytest.mark.slow


def test_a_late_batch_is_not_compared_and_the_child_keeps_serving(credit_folder: Path) -> None:
    rows = sample_rows(credit_folder)[:5]
    fault = credit_folder / "FAULT"  # the captured transformer in the child reads it by absolute path
    isolated = IsolatedPredictor(str(credit_folder), "credit-v1", timeout_s=0.3)
    try:
        pid = isolated.pid
        fault.write_text("slow 1.0")
        with pytest.raises(ShadowProcessError) as late:
            isolated.predict_rows(rows)
        assert late.value.timed_out
        fault.unlink()
        answered = None
        for _ in range(100):  # the child first finishes the late batch, whose answer is dropped
            try:
                answered = isolated.predict_rows(rows)
                break
            except ShadowProcessError as busy:
                assert busy.timed_out
        assert answered is not None and len(answered.decisions) == len(rows)
        assert isolated.alive and isolated.pid == pid and isolated.restarts == 0  # never killed
    finally:
        fault.unlink(missing_ok=True)
        isolated.close()
