"""`nb2prod monitor` in words a data scientist reads right: an alert check states when the rule fires
(a bare "0.98 < 0.8" read as a condition that holds), and a missing estimate says why instead of a row
of dashes and a raw verdict."""

from __future__ import annotations

import json
from pathlib import Path

from nb2prod.cli import main


def test_alert_checks_say_when_the_rule_fires_and_a_small_window_says_not_enough_data(seeded, tmp_path: Path, capsys) -> None:
    ws = seeded(scenario="none", n_live=10)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps([{"name": "four-fifths", "metric": "fairness.di_ratio", "op": "<", "threshold": 0.8}]))
    assert main(["--home", str(ws.settings.home), "monitor", "credit", "--rules", str(rules)]) == 0
    out, err = capsys.readouterr()
    lines = [line for line in (out + err).splitlines() if "four-fifths" in line]
    assert lines and all("(fires when < 0.8)" in line for line in lines), lines
    estimate = next(line for line in out.splitlines() if line.startswith("estimated performance"))
    assert estimate == "estimated performance (no labels needed): not available — not enough data (n=10 scored answers)"


def test_the_drift_table_names_its_effect_sizes(seeded, capsys) -> None:
    ws = seeded(scenario="covariate_shift", n_live=300)
    assert main(["--home", str(ws.settings.home), "drift", "credit", "--window", "all"]) == 0
    out = capsys.readouterr().out
    assert " wasserstein 0." in out and " JS distance 0." in out and " wass " not in out and " jens " not in out
