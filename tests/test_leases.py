"""Leases: exactly one holder at a time across threads and processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from nb2prod.errors import UsageError
from nb2prod.store import Store


@pytest.fixture
def store_url(any_store_url: str) -> str:
    import sqlalchemy as sa

    from nb2prod.store.tables import leases

    with Store.open(any_store_url) as s, s.engine.begin() as conn:  # the PostgreSQL server is shared between tests
        conn.execute(sa.delete(leases))
    return any_store_url


def test_acquire_renew_release_and_expiry(store_url: str) -> None:
    with Store.open(store_url) as s:
        assert s.leases.get("alerts") is None
        assert s.leases.try_acquire("alerts", "a", 30)
        assert not s.leases.try_acquire("alerts", "b", 30)  # held by a
        assert s.leases.try_acquire("alerts", "a", 30)  # re-acquiring one's own lease extends it
        assert s.leases.renew("alerts", "a", 30)
        assert not s.leases.renew("alerts", "b", 30)
        lease = s.leases.get("alerts")
        assert lease is not None and lease.holder == "a" and lease.held() and lease.token == 1
        assert not s.leases.release("alerts", "b")
        assert s.leases.release("alerts", "a")
        assert s.leases.try_acquire("alerts", "b", 0.2)  # released: free at once
        assert s.leases.get("alerts").token == 2  # type: ignore[union-attr]
        time.sleep(0.3)
        assert s.leases.try_acquire("alerts", "c", 30)  # b's expired
        assert not s.leases.renew("alerts", "b", 30)  # b lost it; renewing does not take it back
        assert s.leases.get("alerts").holder == "c"  # type: ignore[union-attr]
        assert s.leases.try_acquire("other", "b", 30)  # leases are independent by name


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'l.db'}") as s:
        with pytest.raises(UsageError, match="TTL must be positive"):
            s.leases.try_acquire("x", "a", 0)
        with pytest.raises(UsageError, match="lease holder"):
            s.leases.try_acquire("x", "", 5)
        with pytest.raises(UsageError, match="lease name"):
            s.leases.renew("", "a", 5)


def test_threads_never_hold_the_lease_together(store_url: str) -> None:
    """Eight threads race for the lease in a loop; the one inside never has company."""
    with Store.open(store_url) as s:
        inside = 0
        most_inside = 0
        entries = 0
        lock = threading.Lock()
        start = threading.Barrier(8)

        def worker(holder: str) -> None:
            nonlocal inside, most_inside, entries
            start.wait()
            for _ in range(25):
                if s.leases.try_acquire("rollback:credit", holder, 30):
                    with lock:
                        inside += 1
                        entries += 1
                        most_inside = max(most_inside, inside)
                    time.sleep(0.002)
                    with lock:
                        inside -= 1
                    assert s.leases.release("rollback:credit", holder)

        threads = [threading.Thread(target=worker, args=(f"t{i}",)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert most_inside == 1
        assert entries >= 1
        assert s.leases.get("rollback:credit").token == entries  # type: ignore[union-attr]  # one acquisition per entry


def _race(url: str, lease: str, holder: str, barrier: Any, results: Any) -> None:
    with Store.open(url) as s:
        barrier.wait()
        results.put((holder, s.leases.try_acquire(lease, holder, 60)))


@pytest.mark.parametrize("rounds", [3])
def test_processes_racing_for_a_fresh_lease_one_wins(store_url: str, rounds: int) -> None:
    """Four processes take a new lease (nobody's row yet: the INSERT race) and an expired one (the UPDATE race)."""
    ctx = mp.get_context("spawn")
    with Store.open(store_url) as s:
        s.registry.names()  # tables exist before the racers open the store
        s.leases.try_acquire("expired", "old", 0.01)
    time.sleep(0.05)
    for round_no in range(rounds):
        for lease in (f"fresh-{round_no}", "expired"):
            barrier = ctx.Barrier(4)
            results = ctx.Queue()
            procs = [ctx.Process(target=_race, args=(store_url, lease, f"p{round_no}-{i}", barrier, results)) for i in range(4)]
            for proc in procs:
                proc.start()
            outcomes = [results.get(timeout=120) for _ in procs]
            for proc in procs:
                proc.join(timeout=60)
                assert proc.exitcode == 0
            winners = [holder for holder, won in outcomes if won]
            assert len(winners) == 1, outcomes
            with Store.open(store_url) as s:
                got = s.leases.get(lease)
                assert got is not None and got.holder == winners[0]
                if lease == "expired":
                    assert s.leases.release(lease, winners[0])
                    s.leases.try_acquire(lease, "old", 0.01)  # expired again for the next round
            time.sleep(0.05)
