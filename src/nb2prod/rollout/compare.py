"""Shadow comparison: live vs candidate on the same requests, from audit rows (+ feedback labels).

Statistics:
- agreement of decisions with a 95% Wilson interval, overall and per segment value (e.g. per
  protected-attribute group);
- the flip matrix (live decision → candidate decision counts);
- score divergence: mean absolute difference on paired rows and the two-sample KS test between
  the score distributions;
- with feedback labels: each model's accuracy on the same requests and McNemar's exact test
  (binomial on the discordant pairs).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from nb2prod.models import Agreement, AuditEvent, LabelledComparison, ShadowComparison

__all__ = ["compare_shadow", "decision_key", "is_shadow_timeout", "mcnemar_exact", "wilson"]

TIMEOUT_PREFIX = "timeout:"  # how the runtime marks a shadow answer that missed its deadline


def is_shadow_timeout(error: str | None) -> bool:
    """A late shadow answer says nothing about the candidate's correctness: it is "not compared"."""
    return error is not None and error.startswith(TIMEOUT_PREFIX)


def decision_key(value: Any) -> str:
    """Decisions compare as text so ``1``, ``1.0`` and ``"1"`` from JSON round-trips agree."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list) and len(value) == 1:
        return decision_key(value[0])
    return str(value)


def wilson(successes: int, n: int, *, confidence: float = 0.95) -> Agreement:
    """Proportion with its Wilson score interval (sound near 0 and 1, unlike the normal one)."""
    if n == 0:
        return Agreement(n=0, agreement=None, low=None, high=None)
    from scipy import stats  # lazy: scipy.stats costs ~2 s to import, and a service worker rarely compares

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Agreement(n=n, agreement=p, low=max(0.0, float(centre - half)), high=min(1.0, float(centre + half)))


def mcnemar_exact(live_only: int, candidate_only: int) -> float | None:
    """Two-sided exact McNemar p-value from the discordant counts (None when there are none)."""
    discordant = live_only + candidate_only
    if discordant == 0:
        return None
    from scipy import stats

    return float(stats.binomtest(min(live_only, candidate_only), discordant, 0.5).pvalue)


def _shadowed(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    return [e for e in events if e.shadow_version and e.shadow_error is None and e.shadow_output is not None and e.error is None]


def compare_shadow(
    events: Sequence[AuditEvent],
    *,
    name: str,
    live_version: str | None,
    candidate_version: str | None,
    labels: Mapping[str, Any] | None = None,
    segment_by: Sequence[str] = (),
    since: float | None = None,
    until: float | None = None,
    max_scores: int = 2000,
) -> ShadowComparison:
    """Compare the live answers with the candidate's shadow answers on the same requests.

    Only rows shadowed by ``candidate_version`` (when given) count. ``labels`` maps request id
    to the ground-truth label from feedback.
    """
    relevant = [e for e in events if candidate_version is None or e.shadow_version == candidate_version]
    candidate_timeouts = sum(1 for e in relevant if e.shadow_version and is_shadow_timeout(e.shadow_error))
    candidate_errors = sum(1 for e in relevant if e.shadow_error is not None and not is_shadow_timeout(e.shadow_error))
    rows = _shadowed(relevant)
    shadowed = len(rows) + candidate_errors + candidate_timeouts
    same = [decision_key(e.output) == decision_key(e.shadow_output) for e in rows]
    flips: dict[str, Counter[str]] = defaultdict(Counter)
    for e in rows:
        flips[decision_key(e.output)][decision_key(e.shadow_output)] += 1

    paired = [(e.score, e.shadow_score) for e in rows if e.score is not None and e.shadow_score is not None]
    live_scores = np.array([a for a, _ in paired], dtype=float)
    cand_scores = np.array([b for _, b in paired], dtype=float)
    mad = float(np.mean(np.abs(live_scores - cand_scores))) if paired else None
    ks_stat = ks_p = None
    if len(paired) >= 2:
        from scipy import stats

        ks = stats.ks_2samp(live_scores, cand_scores)
        ks_stat, ks_p = float(ks.statistic), float(ks.pvalue)

    segments: dict[str, dict[str, Agreement]] = {}
    for attribute in segment_by:
        groups: dict[str, list[bool]] = defaultdict(list)
        for e, agree in zip(rows, same, strict=True):
            groups[decision_key(e.inputs.get(attribute))].append(agree)
        segments[attribute] = {value: wilson(sum(flags), len(flags)) for value, flags in sorted(groups.items())}

    labelled = _labelled(rows, labels or {})
    step = max(1, len(paired) // max_scores)
    return ShadowComparison(
        name=name,
        live_version=live_version,
        candidate_version=candidate_version,
        overall=wilson(sum(same), len(same)),
        flip_matrix={k: dict(v) for k, v in sorted(flips.items())},
        score_mean_abs_diff=mad,
        score_ks_statistic=ks_stat,
        score_ks_p_value=ks_p,
        live_scores=[round(float(x), 6) for x in live_scores[::step]],
        candidate_scores=[round(float(x), 6) for x in cand_scores[::step]],
        segments=segments,
        labelled=labelled,
        candidate_errors=candidate_errors,
        since=since,
        until=until,
        candidate_timeouts=candidate_timeouts,
        shadowed=shadowed,
        completeness=len(rows) / shadowed if shadowed else None,
    )


def _labelled(rows: Sequence[AuditEvent], labels: Mapping[str, Any]) -> LabelledComparison:
    live_right = cand_right = live_only = cand_only = n = 0
    for e in rows:
        if e.request_id not in labels or labels[e.request_id] is None:
            continue
        truth = decision_key(labels[e.request_id])
        a = decision_key(e.output) == truth
        b = decision_key(e.shadow_output) == truth
        n += 1
        live_right += a
        cand_right += b
        live_only += a and not b
        cand_only += b and not a
    return LabelledComparison(
        n=n,
        live_accuracy=live_right / n if n else None,
        candidate_accuracy=cand_right / n if n else None,
        live_only=live_only,
        candidate_only=cand_only,
        p_value=mcnemar_exact(live_only, cand_only),
    )
