"""Mergeable per-bucket profiles of predictions: what monitoring needs, without the rows.

A :class:`Profile` summarises the predictions of one (deployment, version, arm, minute, writer):
counts are exact, distributions are Apache DataSketches KLL sketches (k=200, ~1.3 % normalised
rank error), categories are exact up to :data:`MAX_CATEGORIES` distinct values per column (then an
"other" count and a frequent-items sketch). Profiles merge by addition, so a window of any size is
the merge of its buckets and replicas' profiles of the same bucket simply add up.

A :class:`LabelProfile` holds what arrives after the prediction — feedback labels, outcomes and
overrides — folded into the bucket of the prediction they refer to. Folding is reversible
(``sign=-1``), so a newer label for the same request replaces the older one exactly.

The column summaries live in :mod:`~nb2prod.monitor.profile_columns`, the label side in
:mod:`~nb2prod.monitor.profile_labels` (both re-exported here). Pure: no database here
(``nb2prod.store.profiles`` stores them).
"""

from __future__ import annotations

import dataclasses
import json
import math
import zlib
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from itertools import chain
from typing import Any

import numpy as np

from nb2prod.adapters.datasketches_sketch import kll_dump, kll_load, kll_merge, kll_update
from nb2prod.monitor.derived import derived_inputs
from nb2prod.monitor.frames import safe_inputs, value_key
from nb2prod.monitor.profile_columns import (
    KLL_K,
    MAX_CATEGORIES,
    MAX_CODES,
    MAX_GROUPS,
    ColumnSummary,
    dump_counter,
    group_key,
    load_counter,
)
from nb2prod.monitor.profile_labels import SCORE_BINS, LabelProfile, fold_label
from nb2prod.monitor.reference import category_key

__all__ = [
    "BUCKET_S",
    "KLL_K",
    "MAX_CATEGORIES",
    "MAX_CODES",
    "MAX_GROUPS",
    "SCORE_BINS",
    "ColumnSummary",
    "LabelProfile",
    "Profile",
    "bucket_of",
    "fold_label",
    "group_key",
]

BUCKET_S = 60  # one minute: a day is 1440 buckets per writer
_MAX_MAGNITUDE = 2**53  # the service's input bound (as nb2prod.monitor.frames.safe_inputs)


def bucket_of(ts: float) -> int:
    """Start (epoch seconds) of the bucket holding ``ts``."""
    return int(math.floor(ts / BUCKET_S) * BUCKET_S)


@dataclasses.dataclass
class Profile:
    """Predictions of one bucket (or, merged, of a window): inputs, answers, operations, shadow."""

    n: int = 0  # rows folded (skipped rows excluded)
    skipped: int = 0  # rows whose stored inputs cannot be analysed (not folded, counted)
    ts_min: float | None = None
    ts_max: float | None = None
    columns: dict[str, ColumnSummary] = dataclasses.field(default_factory=dict)
    answered: int = 0  # rows with an output
    errors: int = 0
    fallbacks: int = 0
    violations: int = 0  # rows with at least one guardrail violation
    decisions: Counter[str] = dataclasses.field(default_factory=Counter)  # value_key(output) → count
    confidence: Counter[str] = dataclasses.field(default_factory=Counter)
    score: Any = None  # KLL of the scores of answered rows
    latency: Any = None  # KLL of latency_ms
    # scores of answered, non-fallback rows per decision, binned: decision → {bin: count}
    score_bins: dict[str, Counter[int]] = dataclasses.field(default_factory=dict)
    shadow: Counter[str] = dataclasses.field(default_factory=Counter)  # compared/agree/disagree/errors/timeouts
    flips: Counter[tuple[str, str]] = dataclasses.field(default_factory=Counter)  # (live, shadow) decisions
    shadow_score: Any = None

    # -- folding ---------------------------------------------------------------------------------
    def fold(self, rows: Sequence[Mapping[str, Any]], vocabularies: Mapping[str, Collection[str]] | None = None) -> None:
        """Add prediction rows (``AuditEvent.to_dict()`` shapes), vectorised per column.

        ``vocabularies``: the training vocabulary of each text column of the rows' version (their
        ``.oov`` share is folded as one more numeric column); none for a version without one.
        """
        kept = _safe_rows(rows)
        self.skipped += len(rows) - len(kept)
        if not kept:
            return
        k = len(kept)
        self.n += k
        ts = np.fromiter((float(r["ts"]) for r in kept), dtype=float, count=k)
        self.ts_min = float(ts.min()) if self.ts_min is None else min(self.ts_min, float(ts.min()))
        self.ts_max = float(ts.max()) if self.ts_max is None else max(self.ts_max, float(ts.max()))
        outputs = [r.get("output") for r in kept]
        decisions = [value_key(o) if o is not None else None for o in outputs]
        answered = [d is not None for d in decisions]
        self.answered += sum(answered)
        self.errors += sum(1 for r in kept if r.get("error") is not None)
        fallback = [bool(r.get("fallback")) for r in kept]
        self.fallbacks += sum(fallback)
        self.violations += sum(1 for r in kept if r.get("violations"))
        self.decisions.update(d for d in decisions if d is not None)
        self.confidence.update(str(r["confidence"]) for r in kept if r.get("confidence") is not None)
        scores = np.array([np.nan if r.get("score") is None else float(r["score"]) for r in kept], dtype=float)
        finite = np.isfinite(scores) & np.array(answered, dtype=bool)
        self.score = kll_update(self.score, scores[finite], KLL_K)
        latency = np.array([np.nan if r.get("latency_ms") is None else float(r["latency_ms"]) for r in kept], dtype=float)
        self.latency = kll_update(self.latency, latency[np.isfinite(latency)], KLL_K)
        binned = finite & ~np.array(fallback, dtype=bool)
        if binned.any():
            bins = np.clip((np.where(finite, scores, 0.0) * SCORE_BINS).astype(np.int64), 0, SCORE_BINS - 1)
            keys = np.array([d if d is not None else "" for d in decisions], dtype=object)
            for decision in set(keys[binned].tolist()):
                chosen = binned & (keys == decision)
                values, counts = np.unique(bins[chosen], return_counts=True)
                target = self.score_bins.setdefault(decision, Counter())
                target.update(dict(zip(values.tolist(), counts.tolist(), strict=True)))
        self._fold_inputs(kept, decisions, vocabularies)
        self._fold_shadow(kept, decisions)

    def _fold_inputs(self, rows: Sequence[Mapping[str, Any]], decisions: Sequence[str | None],
                     vocabularies: Mapping[str, Collection[str]] | None) -> None:
        names: set[str] = set()
        for row in rows:
            names.update(row["inputs"])
        received = [(name, [row["inputs"].get(name) for row in rows]) for name in sorted(names)]
        # a datetime's hour/weekday/month, a text's lengths and out-of-vocabulary share: what drift compares for those columns
        for name, values in [*received, *derived_inputs(received, vocabularies)]:
            column = self.columns.setdefault(name, ColumnSummary())
            raw = Counter(values)  # rows are safe: no NaN, every value hashable
            missing = raw.pop(None, 0)
            column.missing += missing
            present = len(values) - missing
            kinds = set(map(type, raw))
            numeric = kinds <= {int, float}
            if numeric:
                numbers = np.array(values, dtype=float)  # None → NaN
                numbers = numbers[~np.isnan(numbers)] if missing else numbers
            else:
                numbers = np.array([float(v) for v in values if isinstance(v, int | float)], dtype=float)
            if numbers.size:
                column.count += int(numbers.size)
                low, high = float(numbers.min()), float(numbers.max())
                column.min = low if column.min is None else min(column.min, low)
                column.max = high if column.max is None else max(column.max, high)
                column.sum += float(numbers.sum())
                column.sum_sq += float(np.dot(numbers, numbers))
                column.sketch = kll_update(column.sketch, numbers, KLL_K)
            column.numeric_only = column.numeric_only and numeric
            # fractional numbers are measurements, not category codes: their distribution lives in the sketch
            continuous = numeric and (len(raw) > MAX_CODES or (float in kinds and not all(float(v).is_integer() for v in raw)))
            if column.numeric_only and (continuous or column.other or len(raw) + len(column.categories) > MAX_CATEGORIES):
                column.other += sum(column.categories.values()) + present  # a continuous column: its numbers live in the sketch
                column.categories = Counter()
            else:
                for value, count in raw.items():
                    column.categories[category_key(value)] += count
                column._bound_categories()
            if column.groups is not None:
                if not kinds <= {str, bool}:
                    column.groups = None  # numbers are not groups: fairness needs text or bool attributes
                else:
                    pairs = Counter(zip(values, decisions, strict=True))
                    for (value, decision), count in pairs.items():
                        if decision is not None:
                            column.groups[(group_key(value), decision)] += count
                    if len({g for g, _ in column.groups}) > MAX_GROUPS:
                        column.groups = None

    def _fold_shadow(self, rows: Sequence[Mapping[str, Any]], decisions: Sequence[str | None]) -> None:
        for row, decision in zip(rows, decisions, strict=True):
            if row.get("shadow_version") is None:
                continue
            self.fold_shadow(decision, row.get("shadow_output"), row.get("shadow_score"), row.get("shadow_error"))

    def fold_late_shadow(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Shadow answers written onto rows already folded without one (the rows as stored now).

        The same rows and decisions ``fold`` would count, so a profile folded early and given the
        shadow later equals one folded from the finished rows.
        """
        kept = _safe_rows(rows)
        self._fold_shadow(kept, [value_key(r.get("output")) if r.get("output") is not None else None for r in kept])

    def fold_shadow(self, live: str | None, output: Any, score: float | None, error: str | None, sign: int = 1) -> None:
        """One shadow answer: agreement and flips when both answered; errors and timeouts apart."""
        if error is not None:
            self.shadow["timeouts" if "timeout" in error.lower() or "deadline" in error.lower() else "errors"] += sign
            return
        if output is None:
            return
        shadow = value_key(output)
        if live is None or shadow is None:
            return
        self.shadow["compared"] += sign
        self.shadow["agree" if live == shadow else "disagree"] += sign
        self.flips[(live, shadow)] += sign
        if score is not None and sign > 0 and math.isfinite(float(score)):
            self.shadow_score = kll_update(self.shadow_score, np.array([float(score)]), KLL_K)

    # -- merging and storage -----------------------------------------------------------------------
    def merge(self, other: Profile) -> Profile:
        """Add ``other`` into this profile (in place) and return it."""
        self.n += other.n
        self.skipped += other.skipped
        if other.ts_min is not None:
            self.ts_min = other.ts_min if self.ts_min is None else min(self.ts_min, other.ts_min)
        if other.ts_max is not None:
            self.ts_max = other.ts_max if self.ts_max is None else max(self.ts_max, other.ts_max)
        for name, column in other.columns.items():
            if name in self.columns:
                self.columns[name].merge(column)
            else:
                self.columns[name] = column.copy()
        self.answered += other.answered
        self.errors += other.errors
        self.fallbacks += other.fallbacks
        self.violations += other.violations
        self.decisions.update(other.decisions)
        self.confidence.update(other.confidence)
        self.score = kll_merge(self.score, other.score)
        self.latency = kll_merge(self.latency, other.latency)
        for decision, bins in other.score_bins.items():
            self.score_bins.setdefault(decision, Counter()).update(bins)
        self.shadow.update(other.shadow)
        self.flips.update(other.flips)
        self.shadow_score = kll_merge(self.shadow_score, other.shadow_score)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "skipped": self.skipped, "ts_min": self.ts_min, "ts_max": self.ts_max,
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
            "answered": self.answered, "errors": self.errors, "fallbacks": self.fallbacks, "violations": self.violations,
            "decisions": dump_counter(self.decisions), "confidence": dump_counter(self.confidence),
            "score": kll_dump(self.score), "latency": kll_dump(self.latency),
            "score_bins": {k: dump_counter(v) for k, v in self.score_bins.items()},
            "shadow": dump_counter(self.shadow), "flips": dump_counter(self.flips), "shadow_score": kll_dump(self.shadow_score),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            n=int(data["n"]), skipped=int(data.get("skipped", 0)), ts_min=data.get("ts_min"), ts_max=data.get("ts_max"),
            columns={k: ColumnSummary.from_dict(v) for k, v in data.get("columns", {}).items()},
            answered=int(data["answered"]), errors=int(data["errors"]), fallbacks=int(data["fallbacks"]),
            violations=int(data["violations"]), decisions=load_counter(data.get("decisions")),
            confidence=load_counter(data.get("confidence")), score=kll_load(data.get("score")),
            latency=kll_load(data.get("latency")),
            score_bins={k: Counter({int(b): int(c) for b, c in v.items()}) for k, v in data.get("score_bins", {}).items()},
            shadow=load_counter(data.get("shadow")), flips=load_counter(data.get("flips"), tuples=True),
            shadow_score=kll_load(data.get("shadow_score")),
        )

    def dumps(self) -> bytes:
        return zlib.compress(json.dumps(self.to_dict(), separators=(",", ":")).encode("utf-8"), 3)

    @classmethod
    def loads(cls, blob: bytes) -> Profile:
        return cls.from_dict(json.loads(zlib.decompress(blob)))


def _safe_rows(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Rows whose inputs can be analysed; checks each distinct value once (the per-row check only when one is not)."""
    try:
        if all(type(r.get("inputs")) is dict for r in rows):
            distinct = set(chain.from_iterable(r["inputs"].values() for r in rows))
            kinds = set(map(type, distinct))
            if kinds <= {str, bool, int, float, type(None)}:
                floats = np.fromiter((v for v in distinct if type(v) is float), dtype=float)
                ints = [v for v in distinct if type(v) is int]
                if np.all(np.abs(floats) <= _MAX_MAGNITUDE) and all(-_MAX_MAGNITUDE <= v <= _MAX_MAGNITUDE for v in ints):
                    return list(rows)  # NaN fails the comparison above, as the per-row check wants
    except TypeError:  # an unhashable value (list, dict): check row by row
        pass
    return [r for r in rows if safe_inputs(r.get("inputs"))]
