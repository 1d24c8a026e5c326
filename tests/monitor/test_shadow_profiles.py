"""Shadow answers written after their rows (the service's late UPDATE) reach the per-minute profiles.

The profile path (merged bucket profiles) must equal the row path (the rows as stored now) however
the answers arrived: with the row, late, replayed, for rows not stored, in an hour already rolled up.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nb2prod.models import AuditEvent
from nb2prod.monitor.profile import BUCKET_S, Profile
from nb2prod.rollout.compare import compare_shadow
from nb2prod.store import Store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nb2prod.db'}"
    else:
        url = os.environ.get("NB2PROD_TEST_PG_URL") or ""
        if not url:
            pytest.skip("NB2PROD_TEST_PG_URL not set (./dev test starts a PostgreSQL server and sets it)")
    with Store.open(url) as opened:
        yield opened


def _rows(name: str, start: float, n: int, *, answered: bool = False) -> list[AuditEvent]:
    """Live rows a v2 shadow was asked about, over three minutes; one with an input the profiles cannot analyse."""
    rows = []
    for i in range(n):
        inputs: dict[str, object] = {"income": float(i), "region": "north" if i % 3 else "south"}
        if i == 7:
            inputs["income"] = 2.0**60  # written before the service bounded its input: skipped by both paths
        shadow = {"shadow_output": (i // 2) % 2, "shadow_score": 0.1 + 0.8 * ((i // 2) % 2)} if answered else {}
        rows.append(AuditEvent(
            request_id=f"{name}-{'a' if answered else 'r'}{i}", name=name, version_id="v1", ts=start + i * (3 * BUCKET_S / n),
            inputs=inputs, output=None if i == 11 else i % 2, score=None if i == 11 else 0.2 + 0.6 * (i % 2),
            error="boom" if i == 11 else None, shadow_version="v2", **shadow,  # type: ignore[arg-type]
        ))
    return rows


def _answers(rows: list[AuditEvent]) -> list[dict[str, object]]:
    """Shadow answers as the runner writes them: most answered, some errors, some past their deadline."""
    out: list[dict[str, object]] = []
    for i, row in enumerate(rows):
        if i % 10 == 3:
            out.append({"request_id": row.request_id, "output": None, "score": None, "error": "ValueError: the shadow refused the row"})
        elif i % 10 == 6:
            out.append({"request_id": row.request_id, "output": None, "score": None, "error": "timeout: shadow took longer than 2000 ms"})
        else:
            out.append({"request_id": row.request_id, "output": (i // 3) % 2, "score": 0.15 + 0.7 * ((i // 3) % 2), "error": None})
    return out


def _profile_path(store: Store, name: str, *, rollup: bool = False) -> Profile:
    merged = Profile()
    for bucket in store.audit.profiles.buckets(name, rollup=rollup):
        merged.merge(bucket.profile)
    return merged


def _row_path(store: Store, name: str) -> Profile:
    profile = Profile()
    profile.fold([e.to_dict() for e in store.audit.predictions(name)])
    return profile


def _assert_same_shadow(store: Store, name: str, *, rollup: bool = False) -> Profile:
    by_profiles, by_rows = _profile_path(store, name, rollup=rollup), _row_path(store, name)
    assert by_profiles.shadow == by_rows.shadow
    assert by_profiles.flips == by_rows.flips
    assert (by_profiles.shadow_score.n if by_profiles.shadow_score is not None else 0) == (
        by_rows.shadow_score.n if by_rows.shadow_score is not None else 0)
    assert by_profiles.n == by_rows.n  # the late answers added no rows
    return by_profiles


def test_late_shadow_answers_fold_into_the_profiles_as_the_rows_say(store: Store) -> None:
    name = f"shadowed-{uuid.uuid4().hex[:8]}"
    start = float(int(time.time() // BUCKET_S) * BUCKET_S) - 10 * BUCKET_S
    late = _rows(name, start, 60)
    store.audit.write(late)
    store.audit.write(_rows(name, start, 20, answered=True))  # answered before the row was written: folded with it
    before = _profile_path(store, name)
    assert before.shadow["compared"] == 18  # the 20 answered rows minus the unanalysable one and the live error

    answers = _answers(late)
    assert store.audit.write_shadow(answers[:25]) == 25
    assert store.audit.write_shadow(answers) == 35  # a batch holding already-written answers writes only the new ones
    replay = [{**a, "output": 1 - a["output"] if isinstance(a["output"], int) else 0, "error": None} for a in answers]
    assert store.audit.write_shadow(replay) == 0  # the first answer stays: neither the rows nor the profiles change
    assert store.audit.write_shadow([{"request_id": "never-stored", "output": 1, "score": 0.9, "error": None}]) == 0

    profile = _assert_same_shadow(store, name)
    assert profile.shadow["errors"] == 6 and profile.shadow["timeouts"] == 6
    assert profile.shadow["agree"] > 0 and profile.shadow["disagree"] > 0

    # the shadow comparison the gate reads from the rows counts the same as the profiles
    events = store.audit.predictions(name)
    analysable = [e for e in events if e.request_id not in {f"{name}-r7", f"{name}-a7"}]
    comparison = compare_shadow(analysable, name=name, live_version="v1", candidate_version="v2")
    assert comparison.overall.n == profile.shadow["compared"]
    assert comparison.overall.agreement == pytest.approx(profile.shadow["agree"] / profile.shadow["compared"])
    assert comparison.candidate_timeouts == profile.shadow["timeouts"]
    assert comparison.candidate_errors == profile.shadow["errors"]
    flips = {(live, shadow): n for live, row in comparison.flip_matrix.items() for shadow, n in row.items()}
    assert flips == {pair: n for pair, n in profile.flips.items() if n}


def test_a_late_answer_in_an_hour_already_rolled_up_reaches_the_rollup(store: Store) -> None:
    name = f"rolled-{uuid.uuid4().hex[:8]}"
    hour = float(int(time.time() // 3600) * 3600) - 3 * 3600  # a closed hour: readers take its rollup
    rows = _rows(name, hour + 600, 30)
    store.audit.write(rows)
    assert _profile_path(store, name, rollup=True).shadow["compared"] == 0  # the rollup is stored now, without answers
    store.audit.write_shadow(_answers(rows))
    profile = _assert_same_shadow(store, name, rollup=True)
    assert profile.shadow["compared"] > 0


def test_without_profiling_the_answers_reach_the_rows_only(tmp_path: Path) -> None:
    from nb2prod.store.audit import AuditLog

    with Store.open(f"sqlite:///{tmp_path / 'nb2prod.db'}") as store:
        log = AuditLog(store.engine, profiles=False)
        rows = _rows("plain", time.time() - 300, 10)
        log.write(rows)
        assert log.write_shadow(_answers(rows)) == 10
        assert {e.request_id: e.shadow_output for e in log.predictions("plain")}[rows[0].request_id] == 0
        assert store.audit.profiles.buckets("plain") == []
