"""The ``features`` of ``deployment.json``: each input column's dtype, range or categories, and its guardrail."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.runtime.spec.fields import bad_field

__all__ = ["DTYPES", "GUARD_POLICIES", "GUARD_REJECTS", "FeatureSpec", "GuardSpec"]

#: accepted spellings of a feature dtype → the runtime's canonical dtype
DTYPES: dict[str, str] = {
    "int": "int", "integer": "int", "int32": "int", "int64": "int",
    "float": "float", "number": "float", "float32": "float", "float64": "float", "double": "float",
    "bool": "bool", "boolean": "bool",
    "category": "category", "categorical": "category",
    "str": "str", "string": "str", "object": "str", "text": "str", "datetime": "str",
}  # fmt: skip


GUARD_POLICIES = ("warn", "fallback")
GUARD_REJECTS = ("missing", "unseen")


@dataclass(frozen=True, slots=True)
class GuardSpec:
    """How one feature's guardrail judges a value (``features[i].guard`` in ``deployment.json``).

    ``low``/``high``: the accepted range (the training range plus a margin); ``used``: False when
    the model's answers do not depend on the feature (then only ``rejects`` applies); ``policy``:
    ``warn`` answers with the model and flags the row, ``fallback`` answers from the fallback;
    ``rejects``: violation kinds the model cannot take (``missing``, ``unseen``), always sent to
    the fallback. A folder without ``guard`` (written before these existed) guards the training
    range exactly with policy ``fallback``.
    """

    low: float | None = None
    high: float | None = None
    used: bool = True
    policy: str = "fallback"
    rejects: tuple[str, ...] = ()
    probed: bool = False  # written by a deploy that probed the model (False: an older folder's defaults)

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "used": self.used, "policy": self.policy, "rejects": list(self.rejects)}

    @classmethod
    def parse(cls, raw: Any, where: str, folder: Path, *, low: float | None, high: float | None) -> GuardSpec:
        if raw is None:
            return cls(low=low, high=high)
        if not isinstance(raw, Mapping):
            raise bad_field(where, "must be an object {low, high, used, policy, rejects}", folder)
        bounds: dict[str, float | None] = {}
        for key in ("low", "high"):
            bound = raw.get(key)
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float) or math.isnan(bound)):
                raise bad_field(f"{where}.{key}", f"must be a number, got {bound!r}", folder)
            bounds[key] = None if bound is None else float(bound)
        policy = raw.get("policy", "warn")
        if policy not in GUARD_POLICIES:
            raise bad_field(f"{where}.policy", f"{policy!r} is not one of {', '.join(GUARD_POLICIES)}", folder)
        rejects = raw.get("rejects") or []
        if not isinstance(rejects, list | tuple) or any(r not in GUARD_REJECTS for r in rejects):
            raise bad_field(f"{where}.rejects", f"must be a list of {', '.join(GUARD_REJECTS)}, got {rejects!r}", folder)
        used = raw.get("used", True)
        if not isinstance(used, bool):
            raise bad_field(f"{where}.used", f"must be true or false, got {used!r}", folder)
        return cls(low=bounds["low"], high=bounds["high"], used=used, policy=policy, rejects=tuple(rejects), probed=True)


def _frame_dtype(raw: Any, where: str, folder: Path) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw:
        raise bad_field(where, f"must be a pandas dtype name, got {raw!r}", folder)
    if raw in {"category", "object", "string", "str"}:
        return raw
    import pandas as pd

    try:
        pd.api.types.pandas_dtype(raw)
    except TypeError:
        raise bad_field(where, f"{raw!r} is not a pandas dtype", folder) from None
    return raw


def _frame_categories(raw: Mapping[str, Any], where: str, folder: Path) -> tuple[Any, ...] | None:
    categories = raw.get("frame_categories")
    if raw.get("frame_dtype") != "category":
        if categories is not None:
            raise bad_field(f"{where}.frame_categories", "applies to frame_dtype 'category' only", folder)
        return None
    if not isinstance(categories, list):
        raise bad_field(f"{where}.frame_categories", "must list the training categories of a 'category' column", folder)
    return tuple(categories)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One input column: canonical dtype, nullability, its training range or categories, and its guardrail."""

    name: str
    dtype: str
    nullable: bool = False
    min: float | None = None
    max: float | None = None
    categories: tuple[Any, ...] | None = None
    guard: GuardSpec = field(default_factory=GuardSpec)
    frame_dtype: str | None = None  # the pandas dtype in training (None: as JSON gives it)
    frame_categories: tuple[Any, ...] | None = None  # a ``category`` column's categories, in order

    @property
    def accepts_missing(self) -> bool:
        """A request may send null: training had missing values, or the deploy found the model takes them."""
        return self.nullable or (self.guard.probed and "missing" not in self.guard.rejects)

    @classmethod
    def parse(cls, raw: Any, folder: Path, index: int) -> FeatureSpec:
        where = f"features[{index}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise bad_field(where, "needs a non-empty string 'name'", folder)
        dtype = DTYPES.get(str(raw.get("dtype", "")).lower())
        if dtype is None:
            raise bad_field(f"{where}.dtype", f"{raw.get('dtype')!r} is not one of {', '.join(sorted(set(DTYPES)))}", folder)
        low, high = raw.get("min"), raw.get("max")
        for key, bound in (("min", low), ("max", high)):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float) or math.isnan(bound)):
                raise bad_field(f"{where}.{key}", f"must be a number, got {bound!r}", folder)
        categories = raw.get("categories")
        if categories is not None and not isinstance(categories, list | tuple):
            raise bad_field(f"{where}.categories", "must be a list", folder)
        low = None if low is None else float(low)
        high = None if high is None else float(high)
        return cls(
            name=raw["name"],
            dtype=dtype,
            nullable=bool(raw.get("nullable", False)),
            min=low,
            max=high,
            categories=None if categories is None else tuple(categories),
            guard=GuardSpec.parse(raw.get("guard"), f"{where}.guard", folder, low=low, high=high),
            frame_dtype=_frame_dtype(raw.get("frame_dtype"), f"{where}.frame_dtype", folder),
            frame_categories=_frame_categories(raw, where, folder),
        )
