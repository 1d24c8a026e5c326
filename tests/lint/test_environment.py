from __future__ import annotations

from pathlib import Path

from lint_nbfactory import cell, findings, notebook, rules


def _project(tmp_path: Path, requirements: str) -> Path:
    (tmp_path / "requirements.txt").write_text(requirements)
    return tmp_path / "analysis.ipynb"


def test_undeclared_and_unpinned_declarations(tmp_path: Path) -> None:
    path = _project(tmp_path, "pandas\nclick>=8\n")
    nb = notebook("import os, json\nimport pandas as pd\nimport numpy as np\nimport click\nfrom sklearn import tree")
    got = {(f.rule, f.message.split("`")[1]) for f in findings(nb, path=path, prefix="environment")}
    assert ("environment/undeclared-import", "numpy") in got
    assert ("environment/undeclared-import", "sklearn") in got
    assert ("environment/unpinned-declaration", "pandas") in got
    assert not any(name in {"os", "json", "click"} for rule, name in got if rule == "environment/undeclared-import")


def test_first_party_and_relative_imports_are_not_third_party(tmp_path: Path) -> None:
    path = _project(tmp_path, "numpy==2.0\n")
    (tmp_path / "mylib.py").write_text("X = 1\n")
    nb = notebook("import mylib\nfrom . import sibling\nimport numpy")
    assert rules(nb, path=path, prefix="environment") == []


def test_no_requirements_anywhere_proposes_a_lock(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    nb = notebook("import numpy as np")
    (f,) = findings(nb, path=tmp_path / "nb.ipynb", prefix="environment")
    assert f.rule == "environment/no-requirements" and "numpy==" in (f.evidence or "")


def test_pip_install_without_versions(tmp_path: Path) -> None:
    path = _project(tmp_path, "numpy==2.0\n")
    nb = notebook("%pip install seaborn 'polars==1.0'", "!pip install -q xgboost", "%pip install -r requirements.txt")
    got = [(f.rule, f.cell_index) for f in findings(nb, path=path, prefix="environment")]
    assert ("environment/unpinned-install", 0) in got
    assert ("environment/unpinned-install", 1) in got
    assert ("environment/shell-pip", 1) in got
    assert all(index != 2 for _, index in got)


def test_not_installed_module(tmp_path: Path) -> None:
    path = _project(tmp_path, "surely-not-a-real-package-xyz==1.0\n")
    nb = notebook("import surely_not_a_real_package_xyz")
    assert "environment/not-installed" in rules(nb, path=path, prefix="environment")


def test_mixed_environment_from_outputs(tmp_path: Path) -> None:
    path = _project(tmp_path, "pandas==2.3.3\n")
    err38 = {"output_type": "stream", "name": "stderr", "text": "/opt/conda/lib/python3.8/site-packages/pandas/core/x.py:1: FutureWarning\n"}
    err311 = {"output_type": "stream", "name": "stderr", "text": "/usr/lib/python3.11/site-packages/sklearn/y.py:2: UserWarning\n"}
    v1 = {"output_type": "stream", "name": "stdout", "text": "1.5.3\n"}
    v2 = {"output_type": "stream", "name": "stdout", "text": "2.3.3\n"}
    nb = notebook(
        cell("import pandas as pd", count=1, outputs=[err38]),
        cell("print(pd.__version__)", count=2, outputs=[v1]),
        cell("print(pd.__version__)", count=3, outputs=[v2, err311]),
    )
    messages = [f.message for f in findings(nb, path=path, prefix="environment/mixed-environment")]
    assert any("Python versions" in m for m in messages)
    assert any("pandas versions" in m for m in messages)


def test_pyproject_declarations(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "demo"\ndependencies = ["numpy>=1.26", "pandas"]\n')
    (tmp_path / "notebooks").mkdir()
    nb = notebook("import numpy\nimport pandas\nimport demo")
    got = rules(nb, path=tmp_path / "notebooks" / "nb.ipynb", prefix="environment")
    assert got == ["environment/unpinned-declaration"]
