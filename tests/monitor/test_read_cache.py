"""What a monitoring read keeps between refreshes is never served stale."""

from __future__ import annotations

import gc
import os

import numpy as np
import pandas as pd
import pytest

from nb2prod.errors import Nb2prodError
from nb2prod.models import DriftResult
from nb2prod.monitor.profile import Profile
from nb2prod.monitor.read_cache import _PART_DRIFT, reference_at, remember_drift, remembered_drift
from nb2prod.monitor.reference import build_reference, save_reference


def _frame(shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(shift, 1.0, 500), "colour": rng.choice(["red", "blue"], 500)})


def test_a_reference_rewritten_by_a_redeploy_is_read_anew(tmp_path):
    path = save_reference(build_reference(_frame(0.0), categorical=["colour"]), tmp_path / "reference.json")
    first = reference_at(path)
    assert reference_at(path) is first  # decoded once
    assert isinstance(first["features"]["x"]["grid"], np.ndarray)
    save_reference(build_reference(_frame(5.0), categorical=["colour"]), path)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a coarse clock may keep the old mtime
    second = reference_at(path)
    assert second is not first
    assert second["features"]["x"]["mean"] > first["features"]["x"]["mean"] + 4


def test_a_remembered_drift_belongs_to_its_profile_and_reference_and_goes_with_the_profile():
    part, other = Profile(), Profile()
    reference, newer = {"features": {}}, {"features": {}}
    result = DriftResult.__new__(DriftResult)
    key = ("credit", "v1", "1d", 0.05, 0.1, 0.0, 3600.0)
    remember_drift(part, reference, key, result)
    assert remembered_drift(part, reference, key) is result
    assert remembered_drift(other, reference, key) is None  # another sub-window's profile
    assert remembered_drift(part, newer, key) is None  # a redeployed reference
    assert remembered_drift(part, reference, (*key[:-1], 7200.0)) is None  # another sub-window's bounds
    ident = id(part)
    del part
    gc.collect()
    assert ident not in _PART_DRIFT


def test_a_missing_reference_is_the_one_line_not_found_error(tmp_path):
    with pytest.raises(Nb2prodError, match="no reference sketches"):
        reference_at(tmp_path / "reference.json")
