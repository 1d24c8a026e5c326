"""One input column of a profile: numeric summary, KLL sketch, category counts, decisions per group.

Also the small codecs every profile part shares (counters with tuple keys as JSON objects).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from typing import Any, TypeGuard

from nb2prod.adapters.datasketches_sketch import (
    frequent_copy,
    frequent_dump,
    frequent_load,
    frequent_merge,
    frequent_update,
    kll_copy,
    kll_dump,
    kll_load,
    kll_merge,
)

__all__ = [
    "KLL_K", "MAX_CATEGORIES", "MAX_CODES", "MAX_GROUPS", "ColumnSummary", "counter_key", "dump_counter", "group_key", "is_number",
    "load_counter",
]

KLL_K = 200
MAX_CATEGORIES = 256  # exact counts per column up to here, then "other" + frequent items
MAX_GROUPS = 64  # text/bool columns with at most this many values keep decision counts per value (fairness)
MAX_CODES = 64  # a number column with more distinct values than this in one batch is a measurement, not category codes
_FI_LG_K = 7


_SEP = "\x1f"  # joins tuple keys (value keys are text the JSON encoder escapes; this never appears unescaped in one)


def counter_key(key: Any) -> str:
    return _SEP.join(key) if isinstance(key, tuple) else str(key)


def dump_counter(counter: Counter[Any]) -> dict[str, int]:
    return {counter_key(k): int(v) for k, v in counter.items() if v}


def load_counter(data: Mapping[str, int] | None, *, tuples: bool = False) -> Counter[Any]:
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


def is_number(value: Any) -> TypeGuard[int | float]:
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
        return dataclasses.replace(
            self, sketch=kll_copy(self.sketch), categories=Counter(self.categories), frequent=frequent_copy(self.frequent),
            groups=None if self.groups is None else Counter(self.groups),
        )

    def merge(self, other: ColumnSummary) -> None:
        self.count += other.count
        self.missing += other.missing
        self.min = other.min if self.min is None else self.min if other.min is None else min(self.min, other.min)
        self.max = other.max if self.max is None else self.max if other.max is None else max(self.max, other.max)
        self.sum += other.sum
        self.sum_sq += other.sum_sq
        self.sketch = kll_merge(self.sketch, other.sketch)
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
        self.frequent = frequent_merge(self.frequent, other.frequent, _FI_LG_K)
        self._bound_categories()

    def _bound_categories(self) -> None:
        if len(self.categories) <= MAX_CATEGORIES:
            return
        keep = dict(self.categories.most_common(MAX_CATEGORIES))
        dropped = Counter({k: v for k, v in self.categories.items() if k not in keep})
        self.other += sum(dropped.values())
        self.categories = Counter(keep)
        for key, count in dropped.items():
            self.frequent = frequent_update(self.frequent, key, int(count), _FI_LG_K)

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count, "missing": self.missing, "min": self.min, "max": self.max, "sum": self.sum, "sum_sq": self.sum_sq,
            "sketch": kll_dump(self.sketch), "categories": dump_counter(self.categories), "other": self.other,
            "frequent": frequent_dump(self.frequent),
            "groups": None if self.groups is None else dump_counter(self.groups), "numeric_only": self.numeric_only,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnSummary:
        frequent = frequent_load(data.get("frequent"))
        groups = data.get("groups")
        return cls(
            count=int(data["count"]), missing=int(data["missing"]), min=data["min"], max=data["max"], sum=float(data["sum"]),
            sum_sq=float(data["sum_sq"]), sketch=kll_load(data.get("sketch")), categories=load_counter(data.get("categories")),
            other=int(data.get("other", 0)), frequent=frequent,
            groups=None if groups is None else load_counter(groups, tuples=True), numeric_only=bool(data.get("numeric_only", True)),
        )

