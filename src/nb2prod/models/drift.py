"""Data drift, concept drift and performance estimated before labels arrive."""

from __future__ import annotations

import dataclasses

from nb2prod.models.record import Record

__all__ = ["ConceptDriftResult", "DriftResult", "EstimatedPerformance", "FeatureDrift", "MetricWindow"]


@dataclasses.dataclass(frozen=True, slots=True)
class MetricWindow(Record):
    """A metric over one time window with its confidence interval (``low``..``high``)."""

    start: float
    end: float
    n: int
    value: float | None = None
    low: float | None = None
    high: float | None = None

@dataclasses.dataclass(frozen=True, slots=True)
class FeatureDrift(Record):
    """Drift of one feature between the reference sketch and a window of live inputs.

    ``test`` is the hypothesis test behind ``p_value`` (``ks`` for numeric features,
    ``chi2`` — scipy's contingency test — for categorical ones); ``q_value`` is its
    Benjamini–Hochberg adjustment across the features; ``effect`` is the effect size the
    verdict also requires (normed Wasserstein for numeric, Jensen–Shannon for categorical).
    """

    feature: str
    kind: str
    test: str
    statistic: float
    p_value: float
    q_value: float
    effect_name: str
    effect: float
    psi: float
    drifted: bool
    n_reference: int
    n_current: int
    missing_reference: float = 0.0
    missing_current: float = 0.0
    unseen: tuple[str, ...] = ()

@dataclasses.dataclass(frozen=True, slots=True)
class DriftResult(Record):
    """Data drift of a deployment's live inputs in one window, per feature and overall.

    ``score`` is the share of features whose drift is detected (BH-adjusted p ≤ ``alpha`` *and*
    effect ≥ ``min_effect``); ``detected`` is true when at least one feature drifted.
    """

    name: str
    version_id: str | None
    window: str
    n_reference: int
    n_current: int
    features: tuple[FeatureDrift, ...]
    score: float
    detected: bool
    alpha: float
    min_effect: float
    since: float | None = None
    until: float | None = None
    elapsed_ms: float = 0.0

    @property
    def drifted(self) -> list[str]:
        return [f.feature for f in self.features if f.drifted]

    @property
    def max_effect(self) -> float:
        return max((f.effect for f in self.features), default=0.0)

@dataclasses.dataclass(frozen=True, slots=True)
class ConceptDriftResult(Record):
    """Live metric (from feedback labels) against the validation metric, per window.

    ``score`` = max(0, validation − upper CI bound of the live metric) / validation for a
    higher-is-better metric (mirrored for error metrics): 0 while the validation figure is
    plausible live, else the relative degradation that the sampling noise cannot explain.
    ``detections`` are the timestamps where ADWIN found a change in the error stream.
    """

    name: str
    version_id: str | None
    metric: str
    validation: float | None
    higher_is_better: bool
    n_predictions: int
    n_labelled: int
    live: float | None
    live_low: float | None
    live_high: float | None
    gap: float | None
    score: float | None
    degraded: bool
    verdict: str
    windows: tuple[MetricWindow, ...] = ()
    detections: tuple[float, ...] = ()
    window: str = ""

@dataclasses.dataclass(frozen=True, slots=True)
class EstimatedPerformance(Record):
    """Accuracy estimated from the model's calibrated scores alone, before labels arrive.

    Confidence-based estimation (as NannyML's CBPE): a decision on a row whose calibrated
    positive probability is ``p`` is right with probability ``p`` (decided positive) or ``1 − p``.
    The interval covers sampling noise only; it assumes the score → outcome relation seen on the
    holdout still holds (covariate shift is fine, concept shift is what labels reveal). ``score``
    is computed like the concept score. ``precision``/``recall``/``f1`` come from the expected
    confusion matrix, ``roc_auc`` from the expected ROC curve (rows ranked by raw score).
    """

    name: str
    version_id: str | None
    validation: float | None
    estimated: float | None
    low: float | None
    high: float | None
    n: int
    score: float | None
    degraded: bool
    verdict: str  # ok | degraded | no_validation_metric | insufficient_data | no_calibration
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    roc_auc: float | None = None
    windows: tuple[MetricWindow, ...] = ()
    metric: str = "accuracy"
    window: str = ""
