"""Real threads racing traffic changes on SQLite and PostgreSQL: the registry stays consistent.

Each thread opens its own store (its own connection pool), as separate processes would.
"""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from transition_checks import check_invariants, record, replay, routing

from nb2prod.errors import ConflictError
from nb2prod.models import VersionState
from nb2prod.package.deploy.register import register
from nb2prod.package.deploy.undo import Undo
from nb2prod.rollout import verbs
from nb2prod.rollout.transitions import TransitionRequest, plan
from nb2prod.settings import Settings
from nb2prod.store import Store

THREADS, ROUNDS = 4, 25


@pytest.fixture
def store_url(any_store_url: str) -> str:
    return any_store_url  # each test uses its own deployment name, so nothing needs wiping on the shared PostgreSQL


def _threads(n: int, body: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            body(i)
        except BaseException as exc:  # collected and re-raised by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    return errors


def _consistent(store: Store, name: str) -> None:
    snapshot = store.registry.snapshot(name)
    check_invariants(snapshot.traffic, snapshot.states)
    replayed = replay(name, reversed(store.registry.events(name, limit=100_000)))
    assert routing(replayed.traffic) == routing(snapshot.traffic)
    assert dict(replayed.states) == dict(snapshot.states)


def test_concurrent_promote_and_rollback_keep_states_and_routing_consistent(store_url: str) -> None:
    name = f"race{uuid.uuid4().hex[:8]}"
    versions = [f"{name}-v{i}" for i in range(1, 5)]
    with Store.open(store_url) as store:
        live = None
        for version_id in versions:
            request = TransitionRequest("deploy", version_id, record=record(name, version_id), expected_live=live)
            store.registry.apply(name, lambda snapshot, r=request: plan(snapshot, r))
            live = version_id
    accepted = itertools.count()

    def churn(i: int) -> None:
        rng = random.Random(i)
        with Store.open(store_url) as mine:
            for _ in range(ROUNDS):
                try:
                    if rng.random() < 0.5:
                        verbs.promote(mine, f"{name}:{rng.choice(versions)}", actor=f"t{i}")
                    elif rng.random() < 0.5:
                        verbs.canary(mine, f"{name}:{rng.choice(versions)}", 10, actor=f"t{i}")
                    else:
                        verbs.rollback(mine, name, actor=f"t{i}")
                    next(accepted)
                except ConflictError:
                    pass  # "already live", "no earlier live version": a refusal on the fresh state, nothing written

    assert _threads(THREADS, churn) == []
    with Store.open(store_url) as store:
        _consistent(store, name)
        changes = [e for e in store.registry.events(name, limit=100_000) if e.action in ("promote", "rollback", "canary")]
        assert len(changes) == next(accepted)  # every accepted change is in the history exactly once, nothing else is


def test_two_concurrent_deploys_of_one_name_leave_one_live_version(store_url: str, tmp_path: Path) -> None:
    settings = Settings.from_env({}, home=tmp_path / "home")
    for round_ in range(6):
        name = f"dup{uuid.uuid4().hex[:8]}"
        with Store.open(store_url) as store:
            if round_ % 2:  # half the rounds race to replace a live version, half race to be the first one
                first = record(name, f"{name}-v0")
                store.registry.apply(name, lambda snapshot, r=first: plan(snapshot, TransitionRequest(
                    "deploy", r.version_id, record=r)))
            live_id = store.registry.traffic(name).live  # both deploys' gates read the live version before building
        start = threading.Barrier(2)
        outcomes: list[str] = []

        def deploy(i: int, name: str = name, live_id: str | None = live_id, start: threading.Barrier = start,
                   outcomes: list[str] = outcomes) -> None:
            with Store.open(store_url) as mine:
                start.wait()
                try:
                    register(mine, record(name, f"{name}-v{i + 1}"), live_id=live_id, shadow=None, actor=f"t{i}", evidence={},
                             undo=Undo(settings, mine, tmp_path / f"{name}-{i}"))
                    outcomes.append("live")
                except ConflictError as exc:
                    assert "became live" in str(exc) or "already registered" in str(exc), exc
                    outcomes.append("refused")

        assert _threads(2, deploy) == []
        assert sorted(outcomes) == ["live", "refused"]
        with Store.open(store_url) as store:
            _consistent(store, name)
            snapshot = store.registry.snapshot(name)
            assert [v for v, s in snapshot.states.items() if s == VersionState.LIVE] == [snapshot.traffic.live]
            assert len(snapshot.states) == (2 if round_ % 2 else 1)  # the refused deploy registered nothing
