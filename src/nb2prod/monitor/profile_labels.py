"""What arrives after the predictions of a bucket — labels, outcomes, overrides — folded reversibly.

``fold_label`` adds (``sign=1``) or takes back (``sign=-1``) one feedback row, so a newer label for
the same request replaces the older one exactly.
"""

from __future__ import annotations

import dataclasses
import json
import math
import zlib
from collections import Counter
from collections.abc import Mapping
from typing import Any

from nb2prod.monitor.frames import safe_inputs, value_key
from nb2prod.monitor.profile_columns import dump_counter, group_key, is_number, load_counter

__all__ = ["SCORE_BINS", "LabelProfile", "fold_label"]

SCORE_BINS = 4096  # scores in [0, 1] binned this finely for the estimated accuracy and AUC (error ≤ 1/8192)


@dataclasses.dataclass
class LabelProfile:
    """What arrived after the predictions of a bucket: labels, outcomes, overrides."""

    labelled: int = 0  # predictions with a label
    labels: Counter[str] = dataclasses.field(default_factory=Counter)
    confusion: Counter[tuple[str, str]] = dataclasses.field(default_factory=Counter)  # (label, decision) of answered rows
    score_bins: dict[str, Counter[int]] = dataclasses.field(default_factory=dict)  # label → binned scores of answered rows
    regression: dict[str, float] = dataclasses.field(default_factory=dict)  # n, y, y2, e, abs, e2, e4 sums (numeric label and output)
    groups: dict[str, Counter[tuple[str, str, str]]] = dataclasses.field(default_factory=dict)  # column → (group, label, decision)
    outcomes: int = 0
    outcome_sum: float = 0.0
    overridden: int = 0

    def merge(self, other: LabelProfile) -> LabelProfile:
        self.labelled += other.labelled
        self.labels.update(other.labels)
        self.confusion.update(other.confusion)
        for key, bins in other.score_bins.items():
            self.score_bins.setdefault(key, Counter()).update(bins)
        for key, value in other.regression.items():
            self.regression[key] = self.regression.get(key, 0.0) + value
        for column, counts in other.groups.items():
            self.groups.setdefault(column, Counter()).update(counts)
        self.outcomes += other.outcomes
        self.outcome_sum += other.outcome_sum
        self.overridden += other.overridden
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "labelled": self.labelled, "labels": dump_counter(self.labels), "confusion": dump_counter(self.confusion),
            "score_bins": {k: dump_counter(v) for k, v in self.score_bins.items()},
            "regression": {k: float(v) for k, v in self.regression.items()},
            "groups": {k: dump_counter(v) for k, v in self.groups.items()},
            "outcomes": self.outcomes, "outcome_sum": self.outcome_sum, "overridden": self.overridden,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelProfile:
        return cls(
            labelled=int(data["labelled"]), labels=load_counter(data.get("labels")),
            confusion=load_counter(data.get("confusion"), tuples=True),
            score_bins={k: Counter({int(b): int(c) for b, c in v.items()}) for k, v in data.get("score_bins", {}).items()},
            regression={k: float(v) for k, v in data.get("regression", {}).items()},
            groups={k: load_counter(v, tuples=True) for k, v in data.get("groups", {}).items()},
            outcomes=int(data.get("outcomes", 0)), outcome_sum=float(data.get("outcome_sum", 0.0)),
            overridden=int(data.get("overridden", 0)),
        )

    def dumps(self) -> bytes:
        return zlib.compress(json.dumps(self.to_dict(), separators=(",", ":")).encode("utf-8"), 3)

    @classmethod
    def loads(cls, blob: bytes) -> LabelProfile:
        return cls.from_dict(json.loads(zlib.decompress(blob)))



def fold_label(
    target: LabelProfile, prediction: Mapping[str, Any], label: Any, outcome: float | None, *, sign: int = 1
) -> None:
    """Add (``sign=1``) or take back (``sign=-1``) one feedback row's contribution for ``prediction``."""
    if not safe_inputs(prediction.get("inputs")):
        return
    output = prediction.get("output")
    decision = value_key(output) if output is not None else None
    if outcome is not None and is_number(outcome) and math.isfinite(float(outcome)):
        target.outcomes += sign
        target.outcome_sum += sign * float(outcome)
    key = value_key(label)
    if key is None:
        return
    target.labelled += sign
    target.labels[key] += sign
    if decision is None:
        return
    target.confusion[(key, decision)] += sign
    score = prediction.get("score")
    if is_number(score) and math.isfinite(float(score)):
        b = min(max(int(float(score) * SCORE_BINS), 0), SCORE_BINS - 1)
        target.score_bins.setdefault(key, Counter())[b] += sign
    if is_number(label) and is_number(output):
        y, p = float(label), float(output)
        e = p - y
        for name, value in (("n", 1.0), ("y", y), ("y2", y * y), ("e", e), ("abs", abs(e)), ("e2", e * e), ("e4", e**4)):
            target.regression[name] = target.regression.get(name, 0.0) + sign * value
    for column, value in (prediction.get("inputs") or {}).items():
        if isinstance(value, str | bool):
            target.groups.setdefault(column, Counter())[(group_key(value), key, decision)] += sign

