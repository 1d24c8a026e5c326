"""The read path's own special functions agree with scipy's, and a first read imports neither scipy nor river.drift."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from nb2prod.adapters.river_drift import _public_adwin, adwin_detections
from nb2prod.monitor.drift_math import chi2_sf, jensen_shannon, kolmogorov_sf


def test_kolmogorov_tail_is_scipys():
    from scipy.special import kolmogorov

    xs = np.concatenate([np.linspace(0.0, 8.0, 4001), [1e-9, 0.0406, 0.819999, 0.82, 0.820001, 27.0]])
    ours = np.array([kolmogorov_sf(float(x)) for x in xs])
    theirs = kolmogorov(xs)
    assert np.allclose(ours, theirs, rtol=1e-12, atol=1e-300)
    assert kolmogorov_sf(-1.0) == 1.0 and np.isnan(kolmogorov_sf(float("nan")))


def test_chi_square_tail_is_scipys_for_any_number_of_categories():
    from scipy.special import chdtrc

    rng = np.random.default_rng(0)
    for dof in range(1, 300):
        statistics = np.concatenate([[0.0, 1e-12, 0.5, dof, 3.0 * dof + 40.0, 1500.0], rng.exponential(dof, 10)])
        ours = np.array([chi2_sf(float(s), dof) for s in statistics])
        assert np.allclose(ours, chdtrc(dof, statistics), rtol=1e-10, atol=1e-300), dof
    with pytest.raises(ValueError, match="degrees of freedom"):
        chi2_sf(1.0, 0)


def test_jensen_shannon_is_scipys_with_empty_categories():
    from scipy.spatial.distance import jensenshannon

    rng = np.random.default_rng(1)
    for k in (2, 3, 9, 40, 257):
        for _ in range(20):
            p, q = rng.integers(0, 30, k).astype(float), rng.integers(0, 30, k).astype(float)
            p[0] += 1
            q[-1] += 1  # some categories are empty on one side, never a whole side
            assert jensen_shannon(p, q) == pytest.approx(float(jensenshannon(p / p.sum(), q / q.sum())), rel=1e-10, abs=1e-15)
    assert jensen_shannon(np.array([1.0, 2.0]), np.array([2.0, 4.0])) == pytest.approx(0.0, abs=1e-7)


def test_adwin_without_river_drift_package_finds_what_rivers_adwin_finds():
    for seed in range(4):
        rng = np.random.default_rng(seed)
        rates = np.concatenate([rng.random(800) < 0.1, rng.random(600) < 0.4, rng.random(900) < 0.05]).astype(float)
        found = adwin_detections(rates)
        assert found == _public_adwin(rates, delta=0.002, grace_period=30)
        assert len(found) >= 2  # both changes, and the restart after each detection is river's


def test_a_fresh_process_first_monitoring_read_imports_neither_scipy_nor_river_drift(seeded, tmp_path):
    # 5000 rows against a 6000-row reference: past the size where the KS p-value needs scipy's kstwo
    ws = seeded(scenario="economic_shift", n_live=5000)
    home = ws.settings.home
    ws.close()
    script = (
        "import json, sys\n"
        "from nb2prod.api import Workspace\n"
        "from nb2prod.monitor.snapshot import monitor_with_series\n"
        f"ws = Workspace.open({str(home)!r})\n"
        f"report, series = monitor_with_series(ws.store, 'credit', window='1d', points=24, until={time.time() + 60!r})\n"
        "heavy = sorted(m for m in ('scipy', 'river.drift', 'sklearn', 'evidently') if m in sys.modules)\n"
        "print(json.dumps({'n': report.n, 'drifted': sorted(report.drift.drifted), 'heavy': heavy}))\n"
        "ws.close()\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    answer = json.loads(out.stdout.strip().splitlines()[-1])
    assert answer["n"] == 5000
    assert answer["drifted"]  # the economic shift is found without them
    assert answer["heavy"] == []
