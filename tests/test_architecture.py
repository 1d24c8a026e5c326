"""What the import contracts cannot say, checked on the source.

The dependency direction (fronts -> core API -> features -> store/adapters, no front library in the
core, one adapter per adapted library) is import-linter's: ``[tool.importlinter]`` in pyproject.toml,
run by ``./dev test``. Here: every module's ``__all__`` names exist, and ``import nb2prod`` stays light.
"""

from __future__ import annotations

import ast
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "nb2prod"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = _module_name(path)
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                base = module.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - node.level + 1]
                found.append((".".join([*base, node.module] if node.module else base), node.lineno))
            elif node.module:
                found.append((node.module, node.lineno))
    return found


MODULES = sorted(SRC.rglob("*.py"))


def _declared_all(path: Path) -> list[str] | None:
    """The module's literal ``__all__``, or None when it declares none."""
    declared = None
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            declared = ast.literal_eval(node.value)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "__all__" and node.value:
            declared = ast.literal_eval(node.value)
    return declared


# Scripts Alembic runs by path (the environment and the revisions), not modules anyone imports.
MIGRATION_SCRIPTS = {p for p in (SRC / "store" / "migrations").rglob("*.py") if p.parent.name == "versions" or p.name in {"env.py", "__main__.py"}}
# Modules that export nothing: the ``python -m nb2prod`` entry point and two namespace-only packages.
WITHOUT_ALL = {"nb2prod.__main__", "nb2prod.adapters", "nb2prod.examples"}
MODULES_WITH_ALL = [p for p in MODULES if _declared_all(p) is not None]


def test_the_contracts_cover_the_modules() -> None:
    """The parametrised check below runs on real cases only; a new module without ``__all__`` is named here."""
    assert len(MODULES_WITH_ALL) > 100
    assert {_module_name(p) for p in MODULES if p not in MODULES_WITH_ALL and p not in MIGRATION_SCRIPTS} == WITHOUT_ALL
    assert len(MIGRATION_SCRIPTS) >= 2


def test_package_init_imports_nothing_heavy() -> None:
    names = {n.split(".")[0] for n, _ in _imports(SRC / "__init__.py")}
    assert names <= {"__future__", "typing", "importlib", "nb2prod"}


@pytest.mark.parametrize("path", MODULES_WITH_ALL, ids=lambda p: _module_name(p))
def test_dunder_all_is_right(path: Path) -> None:
    module = _module_name(path)
    declared = _declared_all(path)
    assert declared is not None
    mod = importlib.import_module(module)
    missing = [name for name in declared if not hasattr(mod, name)]
    assert not missing, f"{module}.__all__ names missing attributes: {missing}"


def _lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` with this project's contracts over the package copy under ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [str(Path(sys.executable).with_name("lint-imports")), str(ROOT / "pyproject.toml"), "--no-cache"]
    return subprocess.run(command, cwd=src, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("store/engine.py", "from nb2prod.api import Workspace", "fronts -> core API"),
    ("monitor/windows.py", "import click", "never import a front"),
    ("package/names.py", "from nb2prod.runs import retrain", "independent except the declared uses"),
    ("cli/app.py", "from nb2prod.store import Store", "through the core API"),
    ("lint/engine.py", "import bentoml", "only nb2prod.adapters.bento imports bentoml"),
])
def test_the_import_contracts_catch_a_violation(tmp_path: Path, module: str, line: str, contract: str) -> None:
    """The contracts are live: one forbidden import added to a copy of the package breaks the named one."""
    copy = tmp_path / "nb2prod"
    shutil.copytree(SRC, copy, ignore=shutil.ignore_patterns("__pycache__", "labextension"))
    target = copy / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n\ndef _violation() -> None:\n    {line}  # noqa\n", encoding="utf-8")
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    broken = [ln for ln in result.stdout.splitlines() if ln.endswith("BROKEN") or " BROKEN (" in ln]
    assert len(broken) >= 1 and any(contract in ln for ln in broken), result.stdout[-3000:]
