"""Guardrail settings inferred at deploy time: bounds with a margin, used features, per-feature policy.

A guardrail should flag what the model has no business answering, not the ordinary spread of new
data. So the bounds come from the *training* frame (never the holdout) widened by
:data:`MARGIN` of the observed span on each side (a test set's rows stay inside them; measured on
scikit-learn's bundled data sets), only features the model actually uses can trip them (shuffling
a feature's values must change some answer), and a violation is a warning — answered by the model
and flagged — unless the user asks for ``fallback`` or the model cannot take the value at all
(a null or an unseen category that makes it raise). Each feature of ``deployment.json`` gets::

    "guard": {"low": …, "high": …, "used": true, "policy": "warn", "rejects": ["missing"]}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nb2prod.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MARGIN", "MAX_PROBED_FEATURES", "POLICIES", "PROBE_ROWS", "UNSEEN", "guard_features", "parse_policies"]

#: bounds are the training range widened by this fraction of the span on each side
MARGIN = 0.5
POLICIES = ("warn", "fallback")
#: training rows the deploy-time probes predict (each probe is one batch call)
PROBE_ROWS = 200
#: the category value sent to find out whether the model takes an unseen category
UNSEEN = "__nb2prod_unseen__"
#: wider frames are probed all columns at once (one call per kind), not feature by feature
MAX_PROBED_FEATURES = 256


def parse_policies(text: str | Mapping[str, str] | None, feature_names: Sequence[str]) -> dict[str, str]:
    """``"fallback"`` (every feature), ``"age=fallback,income=warn"`` or a mapping → ``{feature: policy}``."""
    if text is None or text == "":
        return {}
    if isinstance(text, Mapping):
        pairs = [(str(k), str(v)) for k, v in text.items()]
    else:
        items = [part.strip() for part in str(text).split(",") if part.strip()]
        if len(items) == 1 and "=" not in items[0]:
            pairs = [(name, items[0]) for name in feature_names]
        else:
            pairs = []
            for item in items:
                name, sep, policy = item.partition("=")
                if not sep:
                    raise UsageError(f"guardrail policy {item!r} needs the form FEATURE=POLICY",
                                     fix="e.g. --guardrails age=fallback,income=warn (or one policy for all: --guardrails fallback)")
                pairs.append((name.strip(), policy.strip()))
    known = set(feature_names)
    policies: dict[str, str] = {}
    for name, policy in pairs:
        if name not in known:
            raise UsageError(f"guardrail policy names {name!r}, which is not a training column",
                             fix=f"use one of: {', '.join(list(feature_names)[:12])}{' …' if len(feature_names) > 12 else ''}")
        if policy not in POLICIES:
            raise UsageError(f"guardrail policy {policy!r} for {name!r} is not one of {', '.join(POLICIES)}",
                             fix="warn: answer with the model and flag the row; fallback: answer from the fallback")
        policies[name] = policy
    return policies


def _bounds(feature: Mapping[str, Any]) -> tuple[float | None, float | None]:
    low, high = feature.get("min"), feature.get("max")
    if low is None or high is None:
        return low, high
    span = float(high) - float(low)
    widened_low, widened_high = float(low) - MARGIN * span, float(high) + MARGIN * span
    if low >= 0:  # a column never negative in training (counts, amounts) stays bounded at 0
        widened_low = max(widened_low, 0.0)
    return widened_low, widened_high


def _outputs(model: Any, frame: pd.DataFrame, task: Any) -> tuple[list[Any], list[Any]]:
    from nb2prod.runtime.predictor import Predictor

    out = Predictor(model, task).predict_frame(frame)
    return out.decisions, out.scores


def _same(a: tuple[list[Any], list[Any]], b: tuple[list[Any], list[Any]]) -> bool:
    def equal(x: Any, y: Any) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return x == y or (math.isnan(x) and math.isnan(y))
        return bool(x == y)

    return all(equal(x, y) for x, y in zip(a[0] + a[1], b[0] + b[1], strict=True))


def _raises(model: Any, frame: pd.DataFrame, task: Any) -> bool:
    try:
        _outputs(model, frame, task)
    except Exception:
        return True
    return False


def guard_features(
    model: Any,
    frame: pd.DataFrame,
    features: Sequence[dict[str, Any]],
    task: Any,
    policies: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """``features`` (from :func:`~nb2prod.package.schema.infer_schema` on the training frame) with a ``guard`` each.

    ``task`` is the deployment's :class:`~nb2prod.runtime.spec.TaskSpec`; the probes predict up to
    :data:`PROBE_ROWS` training rows rebuilt the way the service builds them from JSON.
    """
    import numpy as np

    from nb2prod.package.proof import frame_from_rows, sample_rows

    policies = dict(policies or {})
    rows = sample_rows(frame, PROBE_ROWS)
    probe = frame_from_rows(rows, features)
    base = _outputs(model, probe, task)
    rng = np.random.default_rng(0)
    wide = len(features) > MAX_PROBED_FEATURES
    if wide:  # one probe per kind for all columns: a model that raises on any refuses them all
        strict = [f for f in features if not f.get("nullable")]
        all_missing = _raises(model, frame_from_rows([{**row, **{f["name"]: None for f in strict}} for row in rows], features), task)
        categorical = [f for f in features if f.get("categories") is not None]
        all_unseen = bool(categorical) and _raises(
            model, frame_from_rows([{**row, **{f["name"]: UNSEEN for f in categorical}} for row in rows], features), task)
    guarded: list[dict[str, Any]] = []
    for feature in features:
        name = feature["name"]
        rejects: list[str] = []
        if wide:
            used = True
            rejects += ["missing"] if all_missing and not feature.get("nullable") else []
            rejects += ["unseen"] if all_unseen and feature.get("categories") is not None else []
        else:
            # used: shuffling the column's values across rows changes some decision or score
            shuffled = probe.copy()
            shuffled[name] = probe[name].iloc[rng.permutation(len(probe))].reset_index(drop=True)  # keeps the dtype
            try:
                used = not _same(base, _outputs(model, shuffled, task))
            except Exception:
                used = True  # the model reacts to the column (even by failing): keep guarding it
            if not feature.get("nullable") and _raises(model, frame_from_rows([{**row, name: None} for row in rows], features), task):
                rejects.append("missing")
            if feature.get("categories") is not None and _raises(
                    model, frame_from_rows([{**row, name: UNSEEN} for row in rows], features), task):
                rejects.append("unseen")
        low, high = _bounds(feature)
        guarded.append({**feature, "guard": {"low": low, "high": high, "used": used,
                                             "policy": policies.get(name, "warn"), "rejects": rejects}})
    return guarded
