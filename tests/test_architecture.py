"""Dependency-direction contracts (docs/design.md), checked on the source's import statements.

- The core and feature packages never import a front library (IPython, ipywidgets, tornado,
  jupyter_server, click) nor a front module of nb2prod (cli, magics, server, widgets).
- Each adapted third-party library is imported only by its one adapter module.
- Every module's ``__all__`` names exist.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "nb2prod"

FRONT_LIBRARIES = {"IPython", "ipywidgets", "tornado", "jupyter_server", "click", "ipykernel", "anywidget"}
FRONT_MODULES = ("nb2prod.cli", "nb2prod.magics", "nb2prod.server", "nb2prod.widgets", "nb2prod.__main__")
ADAPTED = {
    "bentoml": "nb2prod.adapters.bento",
    "evidently": "nb2prod.adapters.evidently_report",
    "papermill": "nb2prod.adapters.papermill_run",
    "nbformat": "nb2prod.adapters.notebooks",
    "nbclient": "nb2prod.adapters.kernel",
    "shap": "nb2prod.adapters.shap_explain",
    "river": "nb2prod.adapters.river_drift",
    "fairlearn": "nb2prod.adapters.fairlearn_metrics",
}


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


def _is_front(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in FRONT_MODULES)


def _declared_all(path: Path) -> list[str] | None:
    """The module's literal ``__all__``, or None when it declares none."""
    declared = None
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            declared = ast.literal_eval(node.value)
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "__all__" and node.value:
            declared = ast.literal_eval(node.value)
    return declared


# Fronts may import front libraries; the package root and the adapters are checked by the other contracts.
CORE_MODULES = [
    p for p in MODULES
    if not (_is_front(_module_name(p)) or _module_name(p) == "nb2prod" or _module_name(p).startswith("nb2prod.adapters."))
]
# Modules that export nothing: the ``python -m nb2prod`` entry point and two namespace-only packages.
WITHOUT_ALL = {"nb2prod.__main__", "nb2prod.adapters", "nb2prod.examples"}
MODULES_WITH_ALL = [p for p in MODULES if _declared_all(p) is not None]


def test_the_contracts_cover_the_modules() -> None:
    """The parametrised contracts below run on real cases only; a new module without ``__all__`` is named here."""
    assert len(CORE_MODULES) > 50 and len(MODULES_WITH_ALL) > 100
    assert {_module_name(p) for p in MODULES if p not in MODULES_WITH_ALL} == WITHOUT_ALL


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: _module_name(p))
def test_core_never_imports_a_front(path: Path) -> None:
    module = _module_name(path)
    bad = [
        f"{module}:{line} imports {name}"
        for name, line in _imports(path)
        if name.split(".")[0] in FRONT_LIBRARIES or _is_front(name)
    ]
    assert not bad, "core/feature code must not import fronts: " + "; ".join(bad)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_adapted_libraries_only_in_their_adapter(path: Path) -> None:
    module = _module_name(path)
    bad = [
        f"{module}:{line} imports {name} (only {ADAPTED[name.split('.')[0]]} may)"
        for name, line in _imports(path)
        if name.split(".")[0] in ADAPTED and ADAPTED[name.split(".")[0]] != module
    ]
    assert not bad, "; ".join(bad)


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
