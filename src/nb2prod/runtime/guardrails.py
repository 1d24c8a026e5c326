"""Guardrails: flag request values outside what the model saw in training.

A violation is not a client mistake (the request is well-formed) but a reason to distrust the
model: a value outside the feature's guarded range (training range plus a margin), an unseen
category, or a null where training had none. Each feature's ``guard`` (see
:class:`~nb2prod.runtime.spec.GuardSpec`) says what a violation does: ``warn`` answers with the
model and flags the row; ``fallback`` — or a value the model cannot take (``rejects``) — makes the
violation *blocking*. More blocking violations than ``guardrails.max_violations`` → the answer
comes from the fallback. Features the model does not use (``used: false``) only check ``rejects``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nb2prod.runtime.spec import FeatureSpec

__all__ = ["Guardrails", "Violation"]


class Violation(str):
    """One violation as the response and the audit log show it (``"<feature>: <what>"``).

    A plain ``str`` to every reader; ``blocking`` says whether it sends the row to the fallback.
    """

    blocking: bool

    def __new__(cls, text: str, *, blocking: bool) -> Violation:
        self = super().__new__(cls, text)
        self.blocking = blocking
        return self


Check = Callable[[Any], Violation | None]


def _range_check(feature: FeatureSpec) -> Check | None:
    guard = feature.guard
    if not guard.used or (guard.low is None and guard.high is None):
        return None
    low = -math.inf if guard.low is None else guard.low
    high = math.inf if guard.high is None else guard.high
    blocking = guard.policy == "fallback"
    # the message names the training range; the guarded range around it may be wider
    shown_low = guard.low if feature.min is None else feature.min
    shown_high = guard.high if feature.max is None else feature.max

    def check(value: Any) -> Violation | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if value < low:
            return Violation(f"{feature.name}: {value!r} below training min {shown_low:g}", blocking=blocking)
        if value > high:
            return Violation(f"{feature.name}: {value!r} above training max {shown_high:g}", blocking=blocking)
        return None

    return check


def _category_check(feature: FeatureSpec) -> Check | None:
    guard = feature.guard
    blocking = guard.policy == "fallback" or "unseen" in guard.rejects
    if not guard.used and "unseen" not in guard.rejects:
        return None
    seen = frozenset(feature.categories or ())

    def check(value: Any) -> Violation | None:
        if value in seen:
            return None
        return Violation(f"{feature.name}: {value!r} not seen in training", blocking=blocking)

    return check


class Guardrails:
    """Per-feature checks compiled once from the deployment's ``features``."""

    def __init__(self, features: Sequence[FeatureSpec]) -> None:
        checks: list[tuple[str, Violation | None, Check | None]] = []
        for feature in features:
            guard = feature.guard
            check = _category_check(feature) if feature.categories is not None else _range_check(feature)
            missing: Violation | None = None
            if not feature.nullable and (guard.used or "missing" in guard.rejects):
                blocking = guard.policy == "fallback" or "missing" in guard.rejects
                missing = Violation(f"{feature.name}: missing value", blocking=blocking)
            checks.append((feature.name, missing, check))
        self._checks = tuple(checks)
        # check_rows' cheap bulk test per feature: the guarded range, or the categories seen in training
        self._bulk: dict[str, tuple[float, float] | frozenset[Any]] = {}
        for feature in features:
            if feature.categories is not None:
                self._bulk[feature.name] = frozenset(feature.categories)
            elif feature.guard.low is not None or feature.guard.high is not None:
                low, high = feature.guard.low, feature.guard.high
                self._bulk[feature.name] = (-math.inf if low is None else low, math.inf if high is None else high)

    def check(self, row: Mapping[str, Any]) -> list[Violation]:
        """The violations of one validated row, each ``"<feature>: <what>"``."""
        found: list[Violation] = []
        for name, missing, check in self._checks:
            value = row.get(name)
            if value is None:
                if missing is not None:
                    found.append(missing)
                continue
            if check is not None:
                problem = check(value)
                if problem is not None:
                    found.append(problem)
        return found

    def check_rows(self, rows: Sequence[Mapping[str, Any]]) -> list[list[Violation]]:
        """:meth:`check` for a whole micro-batch: one pass per feature instead of one call per row.

        A column whose values all pass a bulk test (in the guarded range / seen in training) costs
        one comprehension; only rows failing it get the per-value check, so the result (and each
        row's order of violations) equals ``[self.check(row) for row in rows]``.
        """
        found: list[list[Violation]] = [[] for _ in rows]
        for name, missing, check in self._checks:
            values = [row.get(name) for row in rows]
            for i in self._suspects(name, values, check is not None):
                value = values[i]
                if value is None:
                    if missing is not None:
                        found[i].append(missing)
                elif check is not None:
                    problem = check(value)
                    if problem is not None:
                        found[i].append(problem)
        return found

    def _suspects(self, name: str, values: list[Any], checked: bool) -> Sequence[int]:
        """Indices that may violate feature ``name`` (a superset: the exact check runs on them)."""
        bulk = self._bulk.get(name) if checked else None
        try:
            if isinstance(bulk, tuple):
                low, high = bulk
                return [i for i, v in enumerate(values) if v is None or not low <= v <= high]
            if isinstance(bulk, frozenset):
                return [i for i, v in enumerate(values) if v is None or v not in bulk]
        except TypeError:  # a value the bulk test cannot compare or hash: check every row
            return range(len(values))
        return [i for i, v in enumerate(values) if v is None]

    @staticmethod
    def blocking(violations: Sequence[str]) -> int:
        """How many of ``violations`` send a row to the fallback (compare with ``max_violations``).

        Plain strings (not from :meth:`check`) count as blocking.
        """
        return sum(1 for v in violations if getattr(v, "blocking", True))

    @staticmethod
    def feature_of(violation: str) -> str:
        return violation.split(":", 1)[0]
