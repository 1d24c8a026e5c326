"""Guardrails checked per micro-batch give exactly the per-row answers (and the runtime uses them)."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from runtime_folder import sample_rows

from nb2prod.runtime.guardrails import Guardrails
from nb2prod.runtime.spec import load_spec


def _mutated(rows: list[dict[str, Any]], rng: random.Random, n: int) -> list[dict[str, Any]]:
    odd_values = [None, -1e9, 1e12, math.nan, True, "not seen", 0, 3.5]
    out = []
    for i in range(n):
        row = dict(rows[i % len(rows)])
        for name in rng.sample(sorted(row), rng.randint(0, 3)):
            row[name] = rng.choice(odd_values)
        out.append(row)
    return out


def test_check_rows_equals_check_per_row(credit_folder: Path) -> None:
    guardrails = Guardrails(load_spec(credit_folder).features)
    rng = random.Random(11)
    rows = _mutated(sample_rows(credit_folder), rng, 400)
    expected = [guardrails.check(row) for row in rows]
    got = guardrails.check_rows(rows)
    assert got == expected
    assert [[v.blocking for v in r] for r in got] == [[v.blocking for v in r] for r in expected]
    assert sum(map(len, expected)) > 100  # the mutations really produce violations of every kind
    assert {v.split(": ", 1)[1].split(" ")[-1] for r in expected for v in r} >= {"value", "training"}


def test_a_clean_batch_has_no_violations(credit_folder: Path) -> None:
    rows = sample_rows(credit_folder)
    assert Guardrails(load_spec(credit_folder).features).check_rows(rows) == [[] for _ in rows]
