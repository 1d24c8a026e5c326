"""What a magic's argument text reads and binds, following IPython's own parsing.

``$name`` and ``{expr}`` fields (``var_expand``), getopt-style options before a statement
(``%timeit -r1 …``), ``-o``/``-d`` output flags of the R/Octave/Julia bridges, ``%store -r``,
and the definitions a ``%%cython`` body makes importable. :mod:`nb2prod.lint.ipython_syntax`
finds the magics; this reads their arguments.
"""

from __future__ import annotations

import ast
import itertools
import re

__all__ = [
    "IDENT",
    "OUTPUT_FLAG_MAGICS",
    "cython_names",
    "expanded_names",
    "line_magic_targets",
    "output_flags",
    "split_magic",
    "strip_options",
]

_DOLLAR = re.compile(r"(?<!\$)\$([A-Za-z_][\w.]*)")
IDENT = re.compile(r"^[A-Za-z_]\w*$")


def _names_in(expr: str) -> list[str]:
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError):
        return []
    return [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]


def _brace_fields(text: str) -> list[str]:
    """``{expr}`` fields as ``string.Formatter`` (IPython's var_expand) reads them; ``{{`` escapes."""
    fields: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            if text.startswith("{{", i):
                i += 2
                continue
            end = text.find("}", i + 1)
            if end < 0:
                break
            fields.append(text[i + 1 : end].split("!", 1)[0].split(":", 1)[0])
            i = end + 1
        else:
            i += 1
    return fields


def expanded_names(text: str) -> tuple[str, ...]:
    """Python names IPython's ``var_expand`` would read from ``text`` (``$name``, ``{expr}``)."""
    found: list[str] = []
    for expr in _brace_fields(text):
        found.extend(_names_in(expr))
    for match in _DOLLAR.finditer(text):
        found.append(match.group(1).split(".", 1)[0])
    return tuple(dict.fromkeys(found))


def split_magic(text: str) -> tuple[str, str]:
    """``"pip install x"`` → ``("pip", "install x")``."""
    head, _, rest = text.strip().partition(" ")
    return head.strip(), rest.strip()


# Options each statement magic takes, getopt style: a letter followed by ":" takes a value
# (attached, ``-r1``, or the next word, ``-s cumulative``).
_MAGIC_OPTIONS = {"timeit": "n:r:tcp:qo", "prun": "D:l:rs:T:q", "lprun": "f:m:D:T:rsu:z", "memit": "r:t:ico", "time": "", "debug": "b:"}


def strip_options(name: str, args: str) -> str:
    """The statement after a magic's options: ``-r1 for x in d: pass`` → ``for x in d: pass``."""
    spec = _MAGIC_OPTIONS.get(name, "")
    rest = args.strip()
    while rest.startswith("-") and len(rest) > 1 and rest[1] in spec.replace(":", ""):
        word, _, after = rest.partition(" ")
        letter = word[1]
        takes_value = spec[spec.index(letter) + 1 : spec.index(letter) + 2] == ":"
        rest = after.lstrip()
        if takes_value and len(word) == 2:  # the value is the next word
            _, _, rest = rest.partition(" ")
            rest = rest.lstrip()
    return rest


def line_magic_targets(name: str, args: str) -> tuple[str, ...]:
    words = args.split()
    if name == "store" and words and words[0] == "-r":
        return tuple(w for w in words[1:] if IDENT.match(w))
    if name in {"Rpull", "octave_pull"}:  # ``%Rpull x y`` copies R's x and y into Python
        return tuple(n for w in words for n in w.split(",") if IDENT.match(n))
    if name in OUTPUT_FLAG_MAGICS:
        return output_flags(words)
    return ()


# Magics whose ``-o a,b`` (and ``-d df`` for rpy2) copy variables back into Python.
OUTPUT_FLAG_MAGICS = frozenset({"R", "octave", "julia", "matlab"})


def output_flags(words: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for flag, value in itertools.pairwise(words):
        if flag in {"-o", "--output", "-d", "--dataframe"}:
            found.extend(n for n in value.split(",") if IDENT.match(n))
    return tuple(found)


_CYTHON_DEF = re.compile(r"^(?:c?p?def|cdef\s+class|class)\s+(?:[\w.\[\]*]+\s+)*?(\w+)\s*[(:]", re.M)


def cython_names(body: str) -> tuple[str, ...]:
    """Module-level functions and classes a ``%%cython`` cell makes importable (``def``/``cpdef``/classes)."""
    names = []
    for match in _CYTHON_DEF.finditer(body):
        if not match.group(0).startswith("cdef ") or match.group(0).startswith("cdef class"):
            names.append(match.group(1))
    return tuple(dict.fromkeys(names))
