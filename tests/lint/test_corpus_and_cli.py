from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from nb2prod.cli import main
from nb2prod.lint import apply_fixes, lint_notebook, lint_paths

CORPUS = Path(__file__).parent / "corpus"
NOTEBOOKS = sorted(p for p in CORPUS.glob("*.ipynb") if p.name != "corrupt.ipynb")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_corpus_notebook_findings(path: Path) -> None:
    expect = json.loads(path.read_text())["metadata"]["nb2prod_test"]
    report = lint_notebook(path)
    found = {f.rule for f in report.findings}
    assert set(expect["expect"]) <= found, found
    assert not [r for r in found if r.startswith(tuple(expect["forbid"]))], found
    for f in report.findings:
        if f.cell_index is not None:
            cell = json.loads(path.read_text())["cells"][f.cell_index]
            assert f.cell_id == cell["id"]
            if f.line is not None:
                assert 1 <= f.line <= max(1, len("".join(cell["source"]).split("\n")))


def test_folder_lint_survives_a_corrupt_file() -> None:
    reports = lint_paths([CORPUS])
    by_name = {Path(r.path).name: r for r in reports}
    assert len(by_name) == len(NOTEBOOKS) + 1
    (bad,) = by_name["corrupt.ipynb"].findings
    assert bad.rule == "notebook/unreadable" and bad.severity.value == "error"
    assert by_name["magics_heavy.ipynb"].worst is None


def test_cli_formats_and_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["lint", str(CORPUS / "magics_heavy.ipynb")]) == 0
    assert "ok" in capsys.readouterr().out
    assert main(["lint", str(CORPUS / "experiment_random.ipynb")]) == 0  # warnings only; default --fail-on error
    assert main(["lint", str(CORPUS / "experiment_random.ipynb"), "--fail-on", "warning"]) == 1
    capsys.readouterr()
    assert main(["lint", str(CORPUS), "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["summary"]["notebooks"] == len(NOTEBOOKS) + 1 and payload["summary"]["worst"] == "error"
    first = payload["reports"][0]["findings"][0]
    assert {"rule", "severity", "message", "cell_index", "cell_id", "line", "fix", "evidence", "path"} <= first.keys()
    sarif_path = tmp_path / "lint.sarif"
    assert main(["lint", str(CORPUS / "sales_hidden_state.ipynb"), "--format", "sarif", "-o", str(sarif_path)]) == 1
    sarif = json.loads(sarif_path.read_text())
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0" and run["results"]
    rule_ids = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert all(r["ruleId"] in rule_ids for r in run["results"])
    use = next(r for r in run["results"] if r["ruleId"] == "hidden-state/use-before-define")
    line = use["locations"][0]["physicalLocation"]["region"]["startLine"]
    assert "monthly = sales.groupby" in (CORPUS / "sales_hidden_state.ipynb").read_text().split("\n")[line - 1]
    assert main(["lint", str(tmp_path / "nope")]) == 3
    assert "no such file" in capsys.readouterr().err


def test_fixes_seed_paths_requirements_manifest(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "data").mkdir(parents=True)
    (project / ".git").mkdir()
    (project / "data" / "x.csv").write_text("a\n1\n")
    nb = json.loads((CORPUS / "experiment_random.ipynb").read_text())
    nb["cells"].append(
        {
            "cell_type": "code",
            "id": "extra",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": f"import pandas as pd\nframe = pd.read_csv('{project}/data/x.csv')",
        }
    )
    path = project / "exp.ipynb"
    path.write_text(json.dumps(nb))
    before = {f.rule for f in lint_notebook(path).findings}
    assert {"randomness/unseeded", "portability/absolute-path", "environment/no-requirements", "data/unrecorded"} <= before
    results = {r.kind: r for r in apply_fixes(path, ["all"])}
    assert all(r.changed for r in results.values()), results
    after = lint_notebook(path)
    rules_after = {f.rule for f in after.findings}
    assert (
        not {"randomness/unseeded", "randomness/seed-after-draw", "portability/absolute-path", "environment/no-requirements", "data/unrecorded"} & rules_after
    ), rules_after
    fixed = json.loads(path.read_text())
    assert "random.seed(SEED)" in "".join(fixed["cells"][0]["source"]) and "numpy.random.seed(SEED)" in "".join(fixed["cells"][0]["source"])
    assert "pd.read_csv('data/x.csv')" in "".join(fixed["cells"][-1]["source"])
    assert "numpy==" in (project / "requirements.txt").read_text()
    assert (project / "exp.ipynb.nb2prod-manifest.json").exists()
    assert all(not r.changed for r in apply_fixes(path, ["seed", "paths", "requirements"]))  # idempotent


def test_example_notebook_lints_without_errors(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "example_notebooks" / "credit_default.ipynb"
    report = lint_notebook(example)
    assert [f for f in report.findings if f.severity.value == "error"] == []
    copy = tmp_path / "credit_default.ipynb"
    shutil.copy(example, copy)
    assert main(["lint", str(copy)]) == 0
