"""Nested scopes of a cell: what function bodies, lambdas and comprehensions read and bind.

Python's rules: function and comprehension locals, class bodies invisible to methods, ``global``
declarations, walrus targets leaking out of comprehensions. :mod:`nb2prod.lint.names` walks the
cell's module level and hands each nested scope to these.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

__all__ = [
    "COMPREHENSIONS",
    "FUNCTIONS",
    "Use",
    "bindings",
    "comprehension_reads",
    "function_free",
    "import_binding",
    "nested_reads",
    "params",
    "scope_reads",
    "target_names",
]

COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass(frozen=True, slots=True)
class Use:
    name: str
    line: int
    col: int = 0
    owner: str | None = None  # deferred reads: the function whose body reads it ("<stored>": a lambda kept for later)


def target_names(node: ast.AST) -> list[ast.Name]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Name)]


def import_binding(alias: ast.alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def comprehension_reads(
    node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp,
    first: ast.comprehension,
    rest: list[ast.comprehension],
    local: set[str],
    needs: list[Use],
    leaked: list[ast.Name],
) -> None:
    def read(expr: ast.AST) -> None:
        nested_reads(expr, local, needs, leaked)

    for generator in (first, *rest):
        if generator is not first:
            read(generator.iter)
        local.update(n.id for n in target_names(generator.target))
        for condition in generator.ifs:
            read(condition)
    if isinstance(node, ast.DictComp):
        read(node.key)
        read(node.value)
    else:
        read(node.elt)


def nested_reads(node: ast.AST, local: set[str], needs: list[Use], leaked: list[ast.Name]) -> None:
    """Reads of ``node`` not bound in ``local``, giving nested comprehensions and lambdas their own scopes.

    A flat walk would report the targets of an inner comprehension (``e`` in
    ``[f([e[i] for e in b]) for i in r]``) or a lambda's parameters as free names.
    """
    if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
        leaked.append(node.target)
        local.add(node.target.id)
        nested_reads(node.value, local, needs, leaked)
    elif isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id not in local:
            needs.append(Use(node.id, node.lineno, node.col_offset))
    elif isinstance(node, COMPREHENSIONS):
        inner = set(local)
        for generator in node.generators:
            nested_reads(generator.iter, inner, needs, leaked)
            inner.update(n.id for n in target_names(generator.target))
            for condition in generator.ifs:
                nested_reads(condition, inner, needs, leaked)
        for part in (node.key, node.value) if isinstance(node, ast.DictComp) else (node.elt,):
            nested_reads(part, inner, needs, leaked)
    elif isinstance(node, ast.Lambda):
        for default in (*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)):
            nested_reads(default, local, needs, leaked)
        nested_reads(node.body, local | params(node.args), needs, [])
    else:
        for child in ast.iter_child_nodes(node):
            nested_reads(child, local, needs, leaked)


def bindings(body: list[ast.stmt] | list[ast.expr]) -> tuple[set[str], set[str]]:
    """Names bound in a function body (not descending into nested scopes) and its ``global`` names."""
    bound: set[str] = set()
    declared: set[str] = set()
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Global):
            declared.update(node.names)
            continue
        if isinstance(node, ast.Nonlocal):
            bound.update(node.names)
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            stack.extend(getattr(node, "decorator_list", []))
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, COMPREHENSIONS):
            for sub in ast.walk(node):
                if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                    bound.add(sub.target.id)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            bound.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update(import_binding(a) for a in node.names if a.name != "*")
        elif (isinstance(node, ast.ExceptHandler) and node.name) or (isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name):
            bound.add(node.name)
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bound.add(node.rest)
        stack.extend(ast.iter_child_nodes(node))
    return bound - declared, declared


def params(args: ast.arguments) -> set[str]:
    return {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a is not None}


def function_free(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, enclosing: frozenset[str]) -> tuple[list[Use], set[str]]:
    """Global names a function body reads, and names it assigns through ``global``."""
    body: list[ast.stmt] | list[ast.expr] = [node.body] if isinstance(node, ast.Lambda) else node.body
    bound, declared = bindings(body)
    local = bound | params(node.args)
    visible = frozenset(enclosing | local)
    uses: list[Use] = []
    assigned_globals = set(declared)
    scope_reads(body, visible, uses, assigned_globals)
    return uses, assigned_globals


def scope_reads(body: list[ast.stmt] | list[ast.expr], visible: frozenset[str], uses: list[Use], globals_: set[str]) -> None:
    stack: list[tuple[ast.AST, frozenset[str]]] = [(n, visible) for n in body]
    while stack:
        node, names = stack.pop()
        if isinstance(node, FUNCTIONS):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                stack.extend((d, names) for d in node.decorator_list)
                if node.returns is not None:
                    stack.append((node.returns, names))
            stack.extend((d, names) for d in (*node.args.defaults, *(k for k in node.args.kw_defaults if k is not None)))
            inner, inner_globals = function_free(node, names)
            uses.extend(inner)
            globals_.update(inner_globals)
            continue
        if isinstance(node, ast.ClassDef):
            class_bound, _ = bindings(node.body)
            stack.extend((b, names) for b in (*node.bases, *node.decorator_list))
            stack.extend((s, frozenset(names | class_bound)) for s in node.body)
            continue
        if isinstance(node, COMPREHENSIONS):
            nested_reads(node, set(names), uses, [])
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in names:
            uses.append(Use(node.id, node.lineno, node.col_offset))
        stack.extend((child, names) for child in ast.iter_child_nodes(node))
