"""Secrets: API keys, tokens, passwords and private keys in cell source or saved outputs.

A finding names the kind of secret and where it is, never the secret itself (not even in
``evidence``): reports end up in CI logs and SARIF uploads.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Iterable
from typing import ClassVar

from nb2prod.lint.notebook import Cell
from nb2prod.lint.registry import register
from nb2prod.lint.rule import Check, LintContext, Rule
from nb2prod.models import Finding, Severity

__all__ = ["SecretsRule", "find_secrets"]

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})\b")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI API key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}|\bsk-(?:proj-)?[A-Za-z0-9]{32,}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("Stripe secret key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{20,}\b")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("private key", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY( BLOCK)?-----")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("password in a connection URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:(?P<pw>[^\s@/'\"{}$]{3,})@[\w.-]+")),
]
_SECRET_NAME = re.compile(r"(?i)(^|_)(pass(word|wd)?|pwd|secret|token|api_?key|apikey|access_?key|private_?key|auth|credentials?|client_secret)($|_)")
_NOT_SECRET_NAME = re.compile(r"(?i)(file|path|dir|url|name|env|var|length|len|size|type|prompt|field|column|col|header|count|max|min)$")
_PLACEHOLDER = re.compile(
    r"(?i)^(x+|\*+|\.+|-+|<.*>|\{.*\}|\$\{.*\}|%\(.*\)s|your[_ -].*|changeme|change_me|secret|password|token|none|null"
    r"|todo|tbd|example.*|dummy.*|test|fake.*|placeholder|xxx.*)$"
)
_PLACEHOLDER_PW = frozenset({"password", "pass", "secret", "xxx", "changeme", "user", "postgres", "admin", "root", "PASSWORD", "pw"})


def _entropy(text: str) -> float:
    counts = {c: text.count(c) for c in set(text)}
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


_FILE_NAME = re.compile(r"(?i)\.(json|pem|key|p12|pfx|crt|cer|txt|cfg|conf|ini|env|ya?ml|toml|csv|pkl|db|sqlite)$")


def _looks_secret(value: str) -> bool:
    value = value.strip()
    if len(value) < 8 or " " in value or _PLACEHOLDER.match(value):
        return False
    if _FILE_NAME.search(value) or "/" in value or "\\" in value:  # a path to a credentials file, not the credential
        return False
    return _entropy(value) >= 3.0


def find_secrets(text: str) -> list[tuple[str, int, int]]:
    """``(kind, 1-based line, length)`` for every token-shaped secret in ``text``."""
    found: list[tuple[str, int, int]] = []
    if not text:
        return found
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            if kind == "password in a connection URL":
                password = match.group("pw")
                if password in _PLACEHOLDER_PW or _PLACEHOLDER.match(password):
                    continue
            found.append((kind, text.count("\n", 0, match.start()) + 1, len(match.group(0))))
    return found


def _output_texts(cell: Cell) -> Iterable[tuple[int, str]]:
    for number, output in enumerate(cell.outputs):
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
            yield number, "".join(text) if isinstance(text, list) else str(text)
        elif kind == "error":
            yield number, "\n".join(str(t) for t in output.get("traceback") or []) + "\n" + str(output.get("evalue", ""))
        else:
            data = output.get("data") or {}
            if isinstance(data, dict):
                for mime in ("text/plain", "text/html", "text/markdown", "application/json"):
                    if mime in data:
                        value = data[mime]
                        yield number, "".join(value) if isinstance(value, list) else str(value)


@register
class SecretsRule(Rule):
    id = "secrets"
    title = "Secrets"
    python_only = False
    checks: ClassVar[dict[str, Check]] = {
        "in-source": Check(Severity.WARNING, "A credential is written in a cell's code (a leak, not a run failure: warning)."),
        "in-output": Check(Severity.WARNING, "A credential appears in a saved cell output (a leak, not a run failure: warning)."),
    }

    def check_cell(self, ctx: LintContext, cell: Cell) -> Iterable[Finding]:
        fix = "read it from an environment variable or getpass, and revoke it: it is in the file (and its git history)"
        reported: set[int] = set()
        for kind, line, length in find_secrets(cell.source):
            reported.add(line)
            yield self.finding(ctx, "in-source", f"{kind} in the code", cell=cell, line=line, fix=fix, evidence=f"{kind}, {length} characters")
        if cell.tree is not None:
            for name, line, length in _assigned_secrets(cell.nodes):
                if line not in reported:
                    reported.add(line)
                    yield self.finding(
                        ctx,
                        "in-source",
                        f"`{name}` is set to a literal credential",
                        cell=cell,
                        line=line,
                        fix=fix,
                        evidence=f"string literal, {length} characters",
                    )
        for number, text in _output_texts(cell):
            for kind, _line, length in find_secrets(text)[:3]:
                yield self.finding(
                    ctx,
                    "in-output",
                    f"{kind} in output {number} of this cell",
                    cell=cell,
                    fix="clear the cell's output, stop printing the credential, and revoke it",
                    evidence=f"{kind}, {length} characters",
                )


def _assigned_secrets(nodes: list[ast.AST]) -> Iterable[tuple[str, int, int]]:
    for node in nodes:
        pairs: list[tuple[str, ast.AST]] = []
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    pairs.append((target.id, node.value))
                elif isinstance(target, ast.Attribute):
                    pairs.append((target.attr, node.value))
                elif isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
                    pairs.append((target.slice.value, node.value))
        elif isinstance(node, ast.Call):
            pairs.extend((k.arg, k.value) for k in node.keywords if k.arg)
        elif isinstance(node, ast.Dict):
            pairs.extend((k.value, v) for k, v in zip(node.keys, node.values, strict=False) if isinstance(k, ast.Constant) and isinstance(k.value, str))
        for name, value in pairs:
            if (
                _SECRET_NAME.search(name)
                and not _NOT_SECRET_NAME.search(name)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
                and _looks_secret(value.value)
            ):
                yield name, getattr(value, "lineno", 1), len(value.value)
