"""Sub-windows' drift computed together equals each one computed alone, to the last bit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nb2prod.monitor.drift import QUANTILE_POINTS, categorical_drift_counts, numeric_drift, numeric_drift_quantiles, with_arrays
from nb2prod.monitor.drift_profile import compute_drift_profile, compute_drift_profiles
from nb2prod.monitor.profile import Profile
from nb2prod.monitor.reference import build_reference


def _rows(n: int, shift: float, seed: int, *, with_y: bool = True) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    y = rng.gamma(2.0 + shift, 3.0, n)
    colour = rng.choice(["red", "blue", "green"], n, p=[0.5 - 0.1 * shift, 0.3, 0.2 + 0.1 * shift])
    return [{"ts": 0.0, "inputs": {"x": float(x[i]), "colour": str(colour[i]), **({"y": float(y[i])} if with_y else {})},
             "output": 1, "score": 0.5} for i in range(n)]


def _profile(rows: list[dict[str, object]]) -> Profile:
    profile = Profile()
    profile.fold(rows)
    return profile


def test_sub_windows_together_equal_each_alone_and_the_per_feature_statistics():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(0, 1, 5000), "y": rng.gamma(2.0, 3.0, 5000),
                          "colour": rng.choice(["red", "blue", "green"], 5000, p=[0.5, 0.3, 0.2])})
    reference = with_arrays(build_reference(train, categorical=["colour"]))
    parts = [
        _profile(_rows(6000, 0.0, 1)),  # sketches past their exact mode: computed together
        _profile(_rows(9000, 0.8, 2)),
        _profile(_rows(150, 0.5, 3)),  # still exact: its own path
        _profile(_rows(4000, 1.5, 4, with_y=False)),  # a column absent from a window
        _profile(_rows(7000, 0.2, 5)),
    ]
    together = compute_drift_profiles(reference, parts, name="m", version_id="v", window="1d",
                                      bounds=[(float(i), float(i + 1)) for i in range(len(parts))])
    levels = (np.arange(QUANTILE_POINTS) + 0.5) / QUANTILE_POINTS
    for i, (part, result) in enumerate(zip(parts, together, strict=True)):
        alone = compute_drift_profile(reference, part, name="m", version_id="v", window="1d", since=float(i), until=float(i + 1))
        assert result.features == alone.features  # every field, floats compared exactly
        assert (result.score, result.since, result.until, result.n_current) == (alone.score, float(i), float(i + 1), part.n)
        for feature in result.features:
            sketch = reference["features"][feature.feature]
            column = part.columns.get(feature.feature)
            if sketch["kind"] != "numeric":
                expected = categorical_drift_counts(sketch, column.category_counts())
            elif column is None:
                expected = numeric_drift(sketch, np.zeros(0))
            elif column.sketch.is_estimation_mode():
                expected = numeric_drift_quantiles(sketch, np.asarray(column.sketch.get_quantiles(levels)), column.sketch.n)
            else:
                expected = numeric_drift(sketch, np.fromiter((v for v, _ in column.sketch), dtype=float))
            assert (feature.statistic, feature.p_value, feature.effect, feature.psi, feature.n_current) == (
                expected["statistic"], expected["p_value"], expected["effect"], expected["psi"], expected["n"])
    assert together[1].score > together[0].score  # the shifted window drifts, the same-population one does not
    assert {f.feature for f in together[1].features if f.drifted} >= {"x", "y"}
    assert compute_drift_profiles(reference, []) == []

