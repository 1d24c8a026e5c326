"""The proof and the service's startup canary judge "same answer" by one rule: labels equal, numbers equal
up to float rounding (a regression's value a few units in the last place apart is the same answer)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nb2prod.package.proof import compare_predictions
from nb2prod.runtime.answer_match import same_answer


@pytest.mark.parametrize(("a", "b"), [
    (0.05346972519410251, 0.05346972519410255),  # PLSRegression, notebook vs service (measured)
    (np.float64(-8.268985073585185), -8.268985073585199),
    (1e-12, 0.0), (math.nan, math.nan), (np.int64(3), 3), ("yes", np.str_("yes")), (True, True), (None, None),
])  # fmt: skip
def test_the_same_answer(a: object, b: object) -> None:
    assert same_answer(a, b) and same_answer(b, a)


@pytest.mark.parametrize(("a", "b"), [
    (0.0534697, 0.0534698), (1, 0), ("1", 1), (None, 0.0), (math.nan, 0.0), ("yes", "no"),
])  # fmt: skip
def test_a_different_answer(a: object, b: object) -> None:
    assert not same_answer(a, b) and not same_answer(b, a)


def test_the_proof_judges_by_the_same_rule() -> None:
    expected = {"predictions": [0.05346972519410251, 1.5], "scores": [None, None]}
    assert compare_predictions(expected, {"predictions": [0.05346972519410255, 1.5], "scores": [None, None]})["ok"]
    assert compare_predictions(expected, {"predictions": [0.0534, 1.5], "scores": [None, None]})["mismatched"] == 1
