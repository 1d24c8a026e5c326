"""Which names a cell defines and which it needs from earlier cells.

One pass over a cell's module-level statements in evaluation order. A name loaded before the
cell itself has bound it is an *immediate* need (it must exist when the cell runs); a global
read inside a function or lambda body is a *deferred* need (it must exist when the function is
called, so it only has to be defined somewhere). Scopes follow Python's rules: function and
comprehension locals, class bodies invisible to methods, ``global`` declarations, walrus
targets leaking out of comprehensions.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from nb2prod.lint.scopes import COMPREHENSIONS, FUNCTIONS, Use, comprehension_reads, function_free, import_binding

__all__ = ["CellNames", "Use", "analyze"]


@dataclass(slots=True)
class CellNames:
    """What one cell binds at module level and what it reads from outside itself."""

    defs: dict[str, int] = field(default_factory=dict)  # name -> first line binding it
    needs: list[Use] = field(default_factory=list)  # read before this cell binds them
    deferred: list[Use] = field(default_factory=list)  # globals read inside function bodies
    conditional: list[Use] = field(default_factory=list)  # read only if an exception occurs (``except NAME:``)
    star_imports: list[tuple[str, int]] = field(default_factory=list)  # (module, line)


def analyze(tree: ast.Module) -> CellNames:
    result = CellNames()
    _ModuleWalker(result).run(tree.body)
    return result


_NAME_ERROR_CATCHERS = frozenset({"NameError", "Exception", "BaseException", "UnboundLocalError"})


def _catches_name_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(t, ast.Name) and t.id in _NAME_ERROR_CATCHERS for t in types)


def _is_version_info(node: ast.AST) -> bool:
    if isinstance(node, ast.Subscript) or (isinstance(node, ast.Attribute) and node.attr == "major"):
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr == "version_info" and isinstance(node.value, ast.Name) and node.value.id == "sys"


def _python_major_test(test: ast.AST) -> int | None:
    """2 when ``test`` holds only on Python 2 (``sys.version_info < (3, 0)``, ``PY2``), 3 when only on 3."""
    if (isinstance(test, ast.Name) and test.id in {"PY2", "PY3"}) or (isinstance(test, ast.Attribute) and test.attr in {"PY2", "PY3"}):
        return 2 if (test.id if isinstance(test, ast.Name) else test.attr) == "PY2" else 3
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and _is_version_info(test.left)):
        return None
    right = test.comparators[0]
    value = right.elts[0] if isinstance(right, ast.Tuple) and right.elts else right
    if not (isinstance(value, ast.Constant) and isinstance(value.value, int)):
        return None
    major, op = value.value, test.ops[0]
    if (isinstance(op, ast.Lt) and major == 3) or (isinstance(op, ast.Eq) and major == 2) or (isinstance(op, ast.LtE) and major == 2):
        return 2
    if (isinstance(op, ast.GtE) and major == 3) or (isinstance(op, ast.Eq) and major == 3) or (isinstance(op, ast.Gt) and major == 2):
        return 3
    return None


def _namespace_tests(test: ast.AST) -> set[str]:
    """Names a condition checks for existence: ``'model' not in globals()``, ``"x" in dir()``."""
    found: set[str] = set()
    for node in ast.walk(test):
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops)
            and any(isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in {"globals", "locals", "dir", "vars"} for c in node.comparators)
        ):
            found.add(node.left.value)
    return found


class _ModuleWalker:
    """Walks module-level code in evaluation order."""

    def __init__(self, result: CellNames) -> None:
        self.result = result
        self.bound: set[str] = set()
        self.guarded = 0  # inside ``try:`` whose handlers catch NameError: a missing name is handled
        self.guard_names: set[str] = set()  # names tested with ``'x' in globals()`` around this code
        self.handler_types = 0  # inside ``except <types>:``: evaluated only when the try body raises
        self.lambda_owner: dict[int, str] = {}

    # -- events -----------------------------------------------------------------------------
    def load(self, name: str, node: ast.AST) -> None:
        if name not in self.bound and not self.guarded and name not in self.guard_names:
            use = Use(name, getattr(node, "lineno", 1), getattr(node, "col_offset", 0))
            (self.result.conditional if self.handler_types else self.result.needs).append(use)

    def bind(self, name: str, node: ast.AST) -> None:
        self.bound.add(name)
        self.result.defs.setdefault(name, getattr(node, "lineno", 1))

    # -- statements -------------------------------------------------------------------------
    def run(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def stmt(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            if isinstance(node.value, ast.Lambda):  # ``f = lambda: …`` runs when ``f`` is called; ``d[k] = lambda`` later
                target = node.targets[0]
                self.lambda_owner[id(node.value)] = target.id if isinstance(target, ast.Name) else "<stored>"
            self.expr(node.value)
            for target in node.targets:
                self.target(target)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                self.load(node.target.id, node.target)
            else:
                self.expr(node.target)
            self.expr(node.value)
            self.target(node.target)
        elif isinstance(node, ast.AnnAssign):
            self.expr(node.annotation)
            if node.value is not None:
                self.expr(node.value)
                self.target(node.target)
            elif not isinstance(node.target, ast.Name):
                self.expr(node.target)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.expr(node.iter)
            self.target(node.target)
            self.run(node.body)
            self.run(node.orelse)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            major = _python_major_test(node.test)
            saved = set(self.guard_names)
            self.guard_names |= _namespace_tests(node.test)
            if major != 2:  # ``if sys.version_info < (3,):`` never runs on Python 3
                self.run(node.body)
            if major != 3:
                self.run(node.orelse)
            self.guard_names = saved
        elif isinstance(node, ast.While):
            self.expr(node.test)
            self.run(node.body)
            self.run(node.orelse)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item.context_expr)
                if item.optional_vars is not None:
                    self.target(item.optional_vars)
            self.run(node.body)
        elif isinstance(node, (ast.Try, ast.TryStar)):
            guards = any(_catches_name_error(h) for h in node.handlers)
            self.guarded += guards
            self.run(node.body)
            self.guarded -= guards
            for handler in node.handlers:
                if handler.type is not None:
                    self.handler_types += 1
                    self.expr(handler.type)
                    self.handler_types -= 1
                if handler.name:
                    self.bind(handler.name, handler)
                self.run(handler.body)
            self.run(node.orelse)
            self.run(node.finalbody)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                self.expr(decorator)
            self.arguments(node.args)
            if node.returns is not None:
                self.expr(node.returns)
            self.bind(node.name, node)
            # a decorated function may be called by the decorator's framework: count it as called
            self.function(node, frozenset(), None if node.decorator_list else node.name)
        elif isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                self.expr(decorator)
            for base in node.bases:
                self.expr(base)
            for keyword in node.keywords:
                self.expr(keyword.value)
            self.class_body(node)
            self.bind(node.name, node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                self.bind(import_binding(alias), node)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    self.result.star_imports.append((node.module or ".", node.lineno))
                else:
                    self.bind(alias.asname or alias.name, node)
        elif isinstance(node, ast.Delete):
            for target in node.targets:
                self.expr(target)
        elif isinstance(node, ast.Match):
            self.expr(node.subject)
            for case in node.cases:
                self.pattern(case.pattern)
                if case.guard is not None:
                    self.expr(case.guard)
                self.run(case.body)
        elif isinstance(node, (ast.Global, ast.Nonlocal, ast.Pass, ast.Break, ast.Continue)):
            pass
        else:  # Expr, Return, Raise, Assert, TypeAlias…
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)

    def pattern(self, node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, (ast.MatchAs, ast.MatchStar)) and sub.name:
                self.bind(sub.name, sub)
            elif isinstance(sub, ast.MatchMapping) and sub.rest:
                self.bind(sub.rest, sub)
            elif isinstance(sub, ast.MatchValue):
                self.expr(sub.value)
            elif isinstance(sub, ast.MatchClass):
                self.expr(sub.cls)

    def target(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            self.bind(node.id, node)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for element in node.elts:
                self.target(element)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        else:  # attribute or subscript: reads the object
            self.expr(node)

    def arguments(self, args: ast.arguments) -> None:
        for default in (*args.defaults, *(d for d in args.kw_defaults if d is not None)):
            self.expr(default)
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None and arg.annotation is not None:
                self.expr(arg.annotation)

    # -- expressions ------------------------------------------------------------------------
    def expr(self, node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                self.bind(node.id, node)
            else:
                self.load(node.id, node)
        elif isinstance(node, ast.NamedExpr):
            self.expr(node.value)
            self.bind(node.target.id, node.target)
        elif isinstance(node, ast.Lambda):
            self.arguments(node.args)
            self.function(node, frozenset())
        elif isinstance(node, COMPREHENSIONS):
            self.comprehension(node)
        else:
            if isinstance(node, ast.Dict):  # ``{"a": lambda: …}``: kept for later
                self.lambda_owner.update((id(v), "<stored>") for v in node.values if isinstance(v, ast.Lambda))
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.expr(child)
                elif isinstance(child, ast.keyword):
                    self.expr(child.value)
                elif isinstance(child, ast.comprehension):  # not reached: handled above
                    self.expr(child.iter)

    def comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> None:
        first, *rest = node.generators
        self.expr(first.iter)  # evaluated in the enclosing scope, now
        local: set[str] = set()
        needs: list[Use] = []
        leaked: list[ast.Name] = []
        comprehension_reads(node, first, rest, local, needs, leaked)
        for use in needs:
            if use.name not in self.bound and not self.guarded and use.name not in self.guard_names:
                self.result.needs.append(use)
        for name in leaked:
            self.bind(name.id, name)

    def class_body(self, node: ast.ClassDef) -> None:
        class_local: set[str] = set()
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in stmt.decorator_list:
                    self._class_expr(decorator, class_local)
                for default in (*stmt.args.defaults, *(d for d in stmt.args.kw_defaults if d is not None)):
                    self._class_expr(default, class_local)
                class_local.add(stmt.name)
                self.function(stmt, frozenset())
            elif isinstance(stmt, ast.ClassDef):
                for base in stmt.bases:
                    self._class_expr(base, class_local)
                class_local.add(stmt.name)
                inner = _ModuleWalker(CellNames())
                inner.bound = set(self.bound) | class_local
                inner.class_body(stmt)
                self.result.needs.extend(inner.result.needs)
                self.result.deferred.extend(inner.result.deferred)
            else:
                for sub in ast.walk(stmt):
                    if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                        class_local.add(sub.id)
                for child in ast.iter_child_nodes(stmt):
                    if isinstance(child, ast.expr):
                        self._class_expr(child, class_local)
                for sub in ast.walk(stmt):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        class_local.update(import_binding(a) for a in sub.names)

    def _class_expr(self, node: ast.expr, class_local: set[str]) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id not in class_local:
                self.load(sub.id, sub)
            elif isinstance(sub, FUNCTIONS):
                self.function(sub, frozenset())
                break

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, enclosing: frozenset[str], owner: str | None = None) -> None:
        uses, declared_global = function_free(node, enclosing)
        if owner is None and isinstance(node, ast.Lambda):
            owner = self.lambda_owner.get(id(node))
        self.result.deferred.extend(Use(u.name, u.line, u.col, owner) for u in uses)
        for name in declared_global:
            self.result.defs.setdefault(name, getattr(node, "lineno", 1))
