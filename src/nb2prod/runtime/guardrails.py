"""Guardrails: flag request values outside what the model saw in training.

A violation is not a client mistake (the request is well-formed) but a reason to distrust the
model: values outside the training range, unseen categories, or a null where training had none.
More violations than ``guardrails.max_violations`` → the answer comes from the fallback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nb2prod.runtime.spec import FeatureSpec

__all__ = ["Guardrails"]

Check = Callable[[Any], str | None]


def _range_check(feature: FeatureSpec) -> Check:
    low = -math.inf if feature.min is None else feature.min
    high = math.inf if feature.max is None else feature.max

    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if value < low:
            return f"{feature.name}: {value!r} below training min {feature.min:g}"
        if value > high:
            return f"{feature.name}: {value!r} above training max {feature.max:g}"
        return None

    return check


def _category_check(feature: FeatureSpec) -> Check:
    seen = frozenset(feature.categories or ())

    def check(value: Any) -> str | None:
        if value in seen:
            return None
        return f"{feature.name}: {value!r} not seen in training"

    return check


class Guardrails:
    """Per-feature checks compiled once from the deployment's ``features``."""

    def __init__(self, features: Sequence[FeatureSpec]) -> None:
        checks: list[tuple[str, bool, Check | None]] = []
        for feature in features:
            check: Check | None = None
            if feature.categories is not None:
                check = _category_check(feature)
            elif feature.min is not None or feature.max is not None:
                check = _range_check(feature)
            checks.append((feature.name, feature.nullable, check))
        self._checks = tuple(checks)

    def check(self, row: Mapping[str, Any]) -> list[str]:
        """The violations of one validated row, each ``"<feature>: <what>"``."""
        found: list[str] = []
        for name, nullable, check in self._checks:
            value = row.get(name)
            if value is None:
                if not nullable:
                    found.append(f"{name}: missing value")
                continue
            if check is not None:
                problem = check(value)
                if problem is not None:
                    found.append(problem)
        return found

    @staticmethod
    def feature_of(violation: str) -> str:
        return violation.split(":", 1)[0]
