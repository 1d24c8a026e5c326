"""A started runtime freezes what it loaded and lets a request's garbage die young; closing it gives the
process its collector back. ``NB2PROD_GC_FREEZE=0`` leaves the collector alone."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from nb2prod.runtime import GuardedRuntime
from nb2prod.runtime.guarded import SERVING_GC_THRESHOLD


def test_a_started_runtime_tunes_the_collector_and_closing_restores_it(credit_folder: Path, tmp_path: Path, store_url: str) -> None:
    before = gc.get_threshold()
    rt = GuardedRuntime.load(credit_folder, store_url=store_url, spool_dir=tmp_path / "spool")
    try:
        assert gc.get_threshold() == SERVING_GC_THRESHOLD
        assert gc.get_freeze_count() > 0
    finally:
        rt.close(10)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_gc_freeze_off_leaves_the_collector_as_cpython_has_it(
    credit_folder: Path, tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NB2PROD_GC_FREEZE", "0")
    before = gc.get_threshold()
    rt = GuardedRuntime.load(credit_folder, store_url=store_url, spool_dir=tmp_path / "spool")
    try:
        assert gc.get_threshold() == before
    finally:
        rt.close(10)
