"""What a monitoring read keeps between refreshes is never served stale."""

from __future__ import annotations

import gc
import os
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from nb2prod.errors import Nb2prodError
from nb2prod.models import DriftResult
from nb2prod.monitor.profile import LabelProfile, Profile
from nb2prod.monitor.read_cache import _PART_DRIFT, merged_buckets, reference_at, remember_drift, remembered_drift
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


def _minute(bucket: int, rows: list[dict[str, object]]) -> object:
    from nb2prod.store.profiles import BucketProfile

    profile = Profile()
    profile.fold(rows)
    return BucketProfile(version_id="v1", arm="live", bucket=bucket, profile=profile)


def test_an_hours_minutes_are_merged_once_and_a_changed_minute_is_merged_anew():
    rng = np.random.default_rng(3)
    minutes = [_minute(3600 + 60 * i, [{"ts": 3600.0 + 60 * i, "inputs": {"x": float(v)}, "output": 1, "score": 0.5}
                                       for v in rng.normal(i, 1.0, 50)]) for i in range(5)]
    profile, labels = merged_buckets(minutes)
    expected = Profile()
    for m in minutes:
        expected.merge(m.profile)
    assert (profile.n, profile.columns["x"].sum, profile.columns["x"].count) == (expected.n, expected.columns["x"].sum, 250)
    assert merged_buckets(list(minutes)) == (profile, labels) and merged_buckets(list(minutes))[0] is profile  # kept
    newer = [*minutes[:-1], _minute(3600 + 240, [{"ts": 3840.0, "inputs": {"x": 100.0}, "output": 1, "score": 0.5}])]
    again, _ = merged_buckets(newer)  # the last minute's row changed: a new decoded object, so a new merge
    assert again is not profile and again.n == 201 and again.columns["x"].max == 100.0
    assert merged_buckets(minutes[:-1])[0].n == 200  # a shorter partial hour is another merge


def test_sub_windows_of_one_partial_hour_are_the_kept_merge_so_their_drift_is_kept_too():
    from nb2prod.monitor.profile_window import ProfileWindow

    rng = np.random.default_rng(4)
    minutes = [_minute(7200 + 60 * i, [{"ts": 7200.0 + 60 * i, "inputs": {"x": float(v)}, "output": 1, "score": 0.5}
                                       for v in rng.normal(0, 1.0, 40)]) for i in range(30)]
    first = ProfileWindow(minutes, since=7200.0, until=9000.0)
    second = ProfileWindow(list(minutes), since=7200.0, until=9000.0)  # the next read of the same minutes
    (_, _, part, _), = first.parts(1, "v1")
    (_, _, again, _), = second.parts(1, "v1")
    assert part is again and part.n == 1200
    assert first.merged("v1")[0].n == 1200


def test_a_windows_whole_merge_is_its_rollups_kept_plus_its_partial_hours_and_counts_every_row():
    from nb2prod.monitor.profile_window import ProfileWindow

    rng = np.random.default_rng(5)

    def rows(ts: float, n: int) -> list[dict[str, object]]:
        return [{"ts": ts, "inputs": {"x": float(v)}, "output": int(v > 0), "score": 0.5} for v in rng.normal(0, 1.0, n)]

    hours = []
    for h in (1, 2, 3):
        item = _minute(3600 * h, rows(3600.0 * h, 100))
        item.width, item.labels = 3600, LabelProfile()  # type: ignore[attr-defined]
        hours.append(item)
    early = [_minute(3000 + 60 * i, rows(3000.0 + 60 * i, 10)) for i in range(10)]  # the window's first, partial, hour
    late = [_minute(4 * 3600 + 60 * i, rows(4 * 3600.0 + 60 * i, 10)) for i in range(5)]  # the hour being written
    items = [*early, *hours, *late]
    first = ProfileWindow(items, since=3000.0, until=4 * 3600.0 + 300)
    whole, _ = first.merged("v1")
    assert whole.n == 10 * 10 + 3 * 100 + 5 * 10
    assert whole.decisions == sum((x.profile.decisions for x in items), Counter())
    rolled, _ = merged_buckets(hours)
    assert rolled.n == 300
    newer = [*early[1:], *hours, *late]  # a minute later: the first partial hour lost a minute, the past hours are the same
    assert ProfileWindow(newer, since=3060.0, until=4 * 3600.0 + 360).merged("v1")[0].n == whole.n - 10
    assert merged_buckets(list(hours))[0] is rolled  # the past hours' merge was kept, not redone
