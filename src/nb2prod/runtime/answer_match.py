"""When two answers of one model are the same answer: equal labels, numbers equal up to float rounding.

The same model can answer a number a few units in the last place apart in two processes (BLAS kernels and
summation order differ with the input's layout: a PLSRegression measured 0.05346972519410255 in the service
against 0.05346972519410251 in the notebook). The deploy's proof and the service's startup canary judge with
this one rule, so a model the proof accepted is never refused by the canary.
"""

from __future__ import annotations

import math
from typing import Any

from nb2prod.runtime.predictor import jsonable

__all__ = ["SCORE_ATOL", "SCORE_RTOL", "same_answer"]

SCORE_ATOL = 1e-9
SCORE_RTOL = 1e-7


def same_answer(a: Any, b: Any) -> bool:
    """``a`` and ``b`` (decisions or scores, as JSON holds them or as the model returned them) are the same."""
    a, b = jsonable(a), jsonable(b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=SCORE_RTOL, abs_tol=SCORE_ATOL)
    return bool(a == b)
