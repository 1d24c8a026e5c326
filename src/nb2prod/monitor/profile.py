"""Mergeable per-bucket profiles of predictions: what monitoring needs, without the rows.

A :class:`Profile` summarises the predictions of one (deployment, version, arm, minute, writer):
counts are exact, distributions are Apache DataSketches KLL sketches (k=200, ~1.3 % normalised
rank error), categories are exact up to :data:`MAX_CATEGORIES` distinct values per column (then an
"other" count and a frequent-items sketch). Profiles merge by addition, so a window of any size is
the merge of its buckets and replicas' profiles of the same bucket simply add up.

A :class:`LabelProfile` holds what arrives after the prediction — feedback labels, outcomes and
overrides — folded into the bucket of the prediction they refer to. Folding is reversible
(``sign=-1``), so a newer label for the same request replaces the older one exactly.

Pure: no database here (``nb2prod.store.profiles`` stores them).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import Any, TypeGuard

import numpy as np

from nb2prod.monitor.frames import safe_inputs, value_key
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
    "fold_rows",
    "group_key",
]

BUCKET_S = 60  # one minute: a day is 1440 buckets per writer
KLL_K = 200
MAX_CATEGORIES = 256  # exact counts per column up to here, then "other" + frequent items
MAX_GROUPS = 64  # text/bool columns with at most this many values keep decision counts per value (fairness)
SCORE_BINS = 4096  # scores in [0, 1] binned this finely for the estimated accuracy and AUC (error ≤ 1/8192)
_FI_LG_K = 7
MAX_CODES = 64  # a number column with more distinct values than this in one batch is a measurement, not category codes
_MAX_MAGNITUDE = 2**53  # the service's input bound (as nb2prod.monitor.frames.safe_inputs)


def bucket_of(ts: float) -> int:
    """Start (epoch seconds) of the bucket holding ``ts``."""
    return int(math.floor(ts / BUCKET_S) * BUCKET_S)


def _kll() -> Any:
    from datasketches import kll_doubles_sketch

    return kll_doubles_sketch(KLL_K)


def _kll_load(blob: str | None) -> Any:
    if blob is None:
        return None
    from datasketches import kll_doubles_sketch

    return kll_doubles_sketch.deserialize(base64.b64decode(blob))


def _kll_dump(sketch: Any) -> str | None:
    if sketch is None or sketch.is_empty():
        return None
    return base64.b64encode(sketch.serialize()).decode("ascii")


def _kll_update(sketch: Any, values: np.ndarray) -> Any:
    if values.size == 0:
        return sketch
    if sketch is None:
        sketch = _kll()
    sketch.update(np.ascontiguousarray(values, dtype=float))
    return sketch


def _kll_merge(a: Any, b: Any) -> Any:
    if b is None:
        return a
    if a is None:
        return _kll_load(_kll_dump(b))  # a copy: merging must not alias the other profile's sketch
    a.merge(b)
    return a


_SEP = "\x1f"  # joins tuple keys (value keys are text the JSON encoder escapes; this never appears unescaped in one)


def _counter_key(key: Any) -> str:
    return _SEP.join(key) if isinstance(key, tuple) else str(key)


def _dump_counter(counter: Counter[Any]) -> dict[str, int]:
    return {_counter_key(k): int(v) for k, v in counter.items() if v}


def _load_counter(data: Mapping[str, int] | None, *, tuples: bool = False) -> Counter[Any]:
    if not data:
        return Counter()
    if tuples:
        return Counter({tuple(k.split(_SEP)): int(v) for k, v in data.items()})
    return Counter({k: int(v) for k, v in data.items()})


def group_key(value: Any) -> str:
    """Group text of a protected-attribute value, as ``Series.astype(str)`` spells it."""
    if value is None:
        return "None"
    if isinstance(value, float) and value != value:
        return "nan"
    return str(value)


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclasses.dataclass
class ColumnSummary:
    """One input column: numeric summary of its numbers, category counts of all its values."""

    count: int = 0  # finite numbers (bools count as 0/1, as pandas' to_numeric does)
    missing: int = 0  # None, NaN or absent
    min: float | None = None
    max: float | None = None
    sum: float = 0.0
    sum_sq: float = 0.0
    sketch: Any = None  # KLL of the numbers
    categories: Counter[str] = dataclasses.field(default_factory=Counter)  # category_key → count
    other: int = 0  # values beyond MAX_CATEGORIES distinct ones
    frequent: Any = None  # frequent-items sketch of the text values counted in ``other``
    groups: Counter[tuple[str, str]] | None = dataclasses.field(default_factory=Counter)  # (group, decision) → count; None once too many
    numeric_only: bool = True  # every value seen was a number (then, once overflowed, categories stop being kept)

    @property
    def present(self) -> int:
        """Rows with a value (any kind)."""
        return sum(self.categories.values()) + self.other

    def category_counts(self) -> dict[str, int]:
        """Exact counts per category (with the overflow under ``"(other)"`` when there is one)."""
        counts = dict(self.categories)
        if self.other:
            counts["(other)"] = counts.get("(other)", 0) + self.other
        return counts

    def copy(self) -> ColumnSummary:
        """An independent copy (merging into it leaves this one unchanged)."""
        frequent = None
        if self.frequent is not None:
            from datasketches import frequent_strings_sketch

            frequent = frequent_strings_sketch.deserialize(self.frequent.serialize())
        return dataclasses.replace(
            self, sketch=_kll_load(_kll_dump(self.sketch)), categories=Counter(self.categories), frequent=frequent,
            groups=None if self.groups is None else Counter(self.groups),
        )

    def merge(self, other: ColumnSummary) -> None:
        self.count += other.count
        self.missing += other.missing
        self.min = other.min if self.min is None else self.min if other.min is None else min(self.min, other.min)
        self.max = other.max if self.max is None else self.max if other.max is None else max(self.max, other.max)
        self.sum += other.sum
        self.sum_sq += other.sum_sq
        self.sketch = _kll_merge(self.sketch, other.sketch)
        numeric = self.numeric_only and other.numeric_only
        self.numeric_only = numeric
        if numeric and (self.other or other.other or len(self.categories) + len(other.categories) > MAX_CATEGORIES):
            # a continuous column: its distribution lives in the sketch, counting categories would only cost
            self.other += sum(self.categories.values()) + other.present
            self.categories = Counter()
        else:
            self._merge_categories(other)
        if self.groups is not None and other.groups is not None:
            self.groups.update(other.groups)
            if len({g for g, _ in self.groups}) > MAX_GROUPS:
                self.groups = None
        else:
            self.groups = None

    def _merge_categories(self, other: ColumnSummary) -> None:
        self.categories.update(other.categories)
        self.other += other.other
        if other.frequent is not None:
            if self.frequent is None:
                from datasketches import frequent_strings_sketch

                self.frequent = frequent_strings_sketch(_FI_LG_K)
            self.frequent.merge(other.frequent)
        self._bound_categories()

    def _bound_categories(self) -> None:
        if len(self.categories) <= MAX_CATEGORIES:
            return
        keep = dict(self.categories.most_common(MAX_CATEGORIES))
        dropped = Counter({k: v for k, v in self.categories.items() if k not in keep})
        self.other += sum(dropped.values())
        self.categories = Counter(keep)
        from datasketches import frequent_strings_sketch

        if self.frequent is None:
            self.frequent = frequent_strings_sketch(_FI_LG_K)
        for key, count in dropped.items():
            self.frequent.update(key, int(count))

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count, "missing": self.missing, "min": self.min, "max": self.max, "sum": self.sum, "sum_sq": self.sum_sq,
            "sketch": _kll_dump(self.sketch), "categories": _dump_counter(self.categories), "other": self.other,
            "frequent": base64.b64encode(self.frequent.serialize()).decode("ascii") if self.frequent is not None else None,
            "groups": None if self.groups is None else _dump_counter(self.groups), "numeric_only": self.numeric_only,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSummary:
        frequent = None
        if data.get("frequent"):
            from datasketches import frequent_strings_sketch

            frequent = frequent_strings_sketch.deserialize(base64.b64decode(data["frequent"]))
        groups = data.get("groups")
        return cls(
            count=int(data["count"]), missing=int(data["missing"]), min=data["min"], max=data["max"], sum=float(data["sum"]),
            sum_sq=float(data["sum_sq"]), sketch=_kll_load(data.get("sketch")), categories=_load_counter(data.get("categories")),
            other=int(data.get("other", 0)), frequent=frequent,
            groups=None if groups is None else _load_counter(groups, tuples=True), numeric_only=bool(data.get("numeric_only", True)),
        )


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
    def fold(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Add prediction rows (``AuditEvent.to_dict()`` shapes), vectorised per column."""
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
        self.score = _kll_update(self.score, scores[finite])
        latency = np.array([np.nan if r.get("latency_ms") is None else float(r["latency_ms"]) for r in kept], dtype=float)
        self.latency = _kll_update(self.latency, latency[np.isfinite(latency)])
        binned = finite & ~np.array(fallback, dtype=bool)
        if binned.any():
            bins = np.clip((np.where(finite, scores, 0.0) * SCORE_BINS).astype(np.int64), 0, SCORE_BINS - 1)
            keys = np.array([d if d is not None else "" for d in decisions], dtype=object)
            for decision in set(keys[binned].tolist()):
                chosen = binned & (keys == decision)
                values, counts = np.unique(bins[chosen], return_counts=True)
                target = self.score_bins.setdefault(decision, Counter())
                target.update(dict(zip(values.tolist(), counts.tolist(), strict=True)))
        self._fold_inputs(kept, decisions)
        self._fold_shadow(kept, decisions)

    def _fold_inputs(self, rows: Sequence[Mapping[str, Any]], decisions: Sequence[str | None]) -> None:
        names: set[str] = set()
        for row in rows:
            names.update(row["inputs"])
        for name in sorted(names):
            values = [row["inputs"].get(name) for row in rows]
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
                column.sketch = _kll_update(column.sketch, numbers)
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
            self.shadow_score = _kll_update(self.shadow_score, np.array([float(score)]))

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
        self.score = _kll_merge(self.score, other.score)
        self.latency = _kll_merge(self.latency, other.latency)
        for decision, bins in other.score_bins.items():
            self.score_bins.setdefault(decision, Counter()).update(bins)
        self.shadow.update(other.shadow)
        self.flips.update(other.flips)
        self.shadow_score = _kll_merge(self.shadow_score, other.shadow_score)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n, "skipped": self.skipped, "ts_min": self.ts_min, "ts_max": self.ts_max,
            "columns": {k: v.to_dict() for k, v in self.columns.items()},
            "answered": self.answered, "errors": self.errors, "fallbacks": self.fallbacks, "violations": self.violations,
            "decisions": _dump_counter(self.decisions), "confidence": _dump_counter(self.confidence),
            "score": _kll_dump(self.score), "latency": _kll_dump(self.latency),
            "score_bins": {k: _dump_counter(v) for k, v in self.score_bins.items()},
            "shadow": _dump_counter(self.shadow), "flips": _dump_counter(self.flips), "shadow_score": _kll_dump(self.shadow_score),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            n=int(data["n"]), skipped=int(data.get("skipped", 0)), ts_min=data.get("ts_min"), ts_max=data.get("ts_max"),
            columns={k: ColumnSummary.from_dict(v) for k, v in data.get("columns", {}).items()},
            answered=int(data["answered"]), errors=int(data["errors"]), fallbacks=int(data["fallbacks"]),
            violations=int(data["violations"]), decisions=_load_counter(data.get("decisions")),
            confidence=_load_counter(data.get("confidence")), score=_kll_load(data.get("score")),
            latency=_kll_load(data.get("latency")),
            score_bins={k: Counter({int(b): int(c) for b, c in v.items()}) for k, v in data.get("score_bins", {}).items()},
            shadow=_load_counter(data.get("shadow")), flips=_load_counter(data.get("flips"), tuples=True),
            shadow_score=_kll_load(data.get("shadow_score")),
        )

    def dumps(self) -> bytes:
        return zlib.compress(json.dumps(self.to_dict(), separators=(",", ":")).encode("utf-8"), 3)

    @classmethod
    def loads(cls, blob: bytes) -> Profile:
        return cls.from_dict(json.loads(zlib.decompress(blob)))


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
            "labelled": self.labelled, "labels": _dump_counter(self.labels), "confusion": _dump_counter(self.confusion),
            "score_bins": {k: _dump_counter(v) for k, v in self.score_bins.items()},
            "regression": {k: float(v) for k, v in self.regression.items()},
            "groups": {k: _dump_counter(v) for k, v in self.groups.items()},
            "outcomes": self.outcomes, "outcome_sum": self.outcome_sum, "overridden": self.overridden,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabelProfile:
        return cls(
            labelled=int(data["labelled"]), labels=_load_counter(data.get("labels")),
            confusion=_load_counter(data.get("confusion"), tuples=True),
            score_bins={k: Counter({int(b): int(c) for b, c in v.items()}) for k, v in data.get("score_bins", {}).items()},
            regression={k: float(v) for k, v in data.get("regression", {}).items()},
            groups={k: _load_counter(v, tuples=True) for k, v in data.get("groups", {}).items()},
            outcomes=int(data.get("outcomes", 0)), outcome_sum=float(data.get("outcome_sum", 0.0)),
            overridden=int(data.get("overridden", 0)),
        )

    def dumps(self) -> bytes:
        return zlib.compress(json.dumps(self.to_dict(), separators=(",", ":")).encode("utf-8"), 3)

    @classmethod
    def loads(cls, blob: bytes) -> LabelProfile:
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


def fold_rows(rows: Iterable[Mapping[str, Any]]) -> dict[int, Profile]:
    """Profiles of ``rows`` by bucket start."""
    by_bucket: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_bucket.setdefault(bucket_of(float(row["ts"])), []).append(row)
    out = {}
    for bucket, part in by_bucket.items():
        profile = Profile()
        profile.fold(part)
        out[bucket] = profile
    return out


def fold_label(
    target: LabelProfile, prediction: Mapping[str, Any], label: Any, outcome: float | None, *, sign: int = 1
) -> None:
    """Add (``sign=1``) or take back (``sign=-1``) one feedback row's contribution for ``prediction``."""
    if not safe_inputs(prediction.get("inputs")):
        return
    output = prediction.get("output")
    decision = value_key(output) if output is not None else None
    if outcome is not None and _is_number(outcome) and math.isfinite(float(outcome)):
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
    if _is_number(score) and math.isfinite(float(score)):
        b = min(max(int(float(score) * SCORE_BINS), 0), SCORE_BINS - 1)
        target.score_bins.setdefault(key, Counter())[b] += sign
    if _is_number(label) and _is_number(output):
        y, p = float(label), float(output)
        e = p - y
        for name, value in (("n", 1.0), ("y", y), ("y2", y * y), ("e", e), ("abs", abs(e)), ("e2", e * e), ("e4", e**4)):
            target.regression[name] = target.regression.get(name, 0.0) + sign * value
    for column, value in (prediction.get("inputs") or {}).items():
        if isinstance(value, str | bool):
            target.groups.setdefault(column, Counter())[(group_key(value), key, decision)] += sign
