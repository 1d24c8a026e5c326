"""The reproducibility linter: static rules over a parsed notebook, plus an optional re-execution check.

>>> from nb2prod.lint import lint_notebook
>>> report = lint_notebook("analysis.ipynb")            # static only, ~ms
>>> report = lint_notebook("analysis.ipynb", run=True)  # + restart-and-run-all, twice
>>> [f.rule for f in report.findings]

``data_manifest(path)`` lists the data files a notebook reads with size and sha256 (used by
``%deploy`` to fingerprint training data); ``apply_fixes(path, ["seed", "paths", ...])`` applies
the safe fixes.
"""

from __future__ import annotations

from nb2prod.lint.engine import discover, lint_dict, lint_notebook, lint_paths
from nb2prod.lint.fixes import FIX_KINDS, FixResult, apply_fixes
from nb2prod.lint.manifest import data_manifest, manifest_path, record_manifest, recorded_manifest
from nb2prod.lint.notebook import ParsedNotebook, load_notebook, parse_notebook
from nb2prod.lint.registry import all_rules, catalog
from nb2prod.lint.rule import Check, LintContext, Rule

__all__ = [
    "FIX_KINDS",
    "Check",
    "FixResult",
    "LintContext",
    "ParsedNotebook",
    "Rule",
    "all_rules",
    "apply_fixes",
    "catalog",
    "data_manifest",
    "discover",
    "lint_dict",
    "lint_notebook",
    "lint_paths",
    "load_notebook",
    "manifest_path",
    "parse_notebook",
    "record_manifest",
    "recorded_manifest",
]
