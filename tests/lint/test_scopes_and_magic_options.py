"""Valid IPython and nested scopes that must not be read as undefined names or invalid Python."""

from __future__ import annotations

import ast

import pytest

from nb2prod.lint.ipython_syntax import transform_cell
from nb2prod.lint.names import analyze


def _needs(src: str) -> list[str]:
    return [u.name for u in analyze(ast.parse(src)).needs]


@pytest.mark.parametrize(
    ("cell", "python"),
    [
        ("%timeit -r1 for x in data: pass", "for x in data: pass"),
        ("%lprun -f fn fn(5000)", "fn(5000)"),
        ("%prun -s cumulative f()", "f()"),
        ("%timeit -n 10 -r 3 g(1)", "g(1)"),
    ],
)
def test_statement_magic_options_are_stripped(cell: str, python: str) -> None:
    out = transform_cell(cell).python
    assert out == python
    ast.parse(out)


def test_nested_comprehension_targets_are_local() -> None:
    assert _needs("import numpy as np\nbatch = []\nr = [np.array([e[i] for e in batch]) for i in range(5)]") == ["range"]


def test_generator_in_condition_and_lambda_in_comprehension() -> None:
    assert _needs("xs = [1]\nif any(x > 0 for x in xs):\n    pass\nfs = [lambda y: y + k for k in xs]") == ["any"]


def test_comprehension_inside_function_defers_only_globals() -> None:
    result = analyze(ast.parse("def f(b):\n    return [[e[i] for e in b] for i in range(3)]\n"))
    assert result.needs == [] and [u.name for u in result.deferred] == ["range"]


def test_truly_undefined_name_still_reported() -> None:
    assert "missing" in _needs("[missing for i in range(2)]")
