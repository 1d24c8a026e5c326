"""Turn an IPython cell into plain Python with the same line numbers, recording its magics.

The linter never imports IPython: this is a small, line-based transformer that knows the
syntax IPython adds (``%magic``, ``%%cell_magic``, ``!shell``, ``x = !cmd``, ``obj?``) and
keeps the *names* those lines make or read visible to the name analysis: ``%%capture out``
becomes ``out = None``, ``!echo {path}`` becomes ``(path,)``, ``%time y = f(x)`` becomes
``y = f(x)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PYTHON_BODY_CELL_MAGICS", "Magic", "Transformed", "transform_cell"]

# Cell magics whose body is Python that runs in the user namespace.
PYTHON_BODY_CELL_MAGICS = frozenset({"capture", "time", "timeit", "prun", "debug", "python", "python3", "memit", "snakeviz"})
# Line magics whose argument is a Python statement run in the user namespace.
_STATEMENT_LINE_MAGICS = frozenset({"time", "timeit", "prun", "debug", "memit", "lprun"})

_QUICK = re.compile(r"^\s*[%!?]|\?\s*$|=\s*[!%]", re.M)
_ASSIGN = re.compile(r"^(\s*)([A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)*)\s*=\s*([!%])(.*)$")
_HELP = re.compile(r"^\s*(\?{1,2}[\w.]+|[\w.\[\]()'\"]+\?{1,2})\s*$")
_BRACES = re.compile(r"\{([^{}]+)\}")
_DOLLAR = re.compile(r"(?<!\$)\$([A-Za-z_]\w*)")
_IDENT = re.compile(r"^[A-Za-z_]\w*$")


@dataclass(frozen=True, slots=True)
class Magic:
    """One IPython-only construct in a cell."""

    kind: str  # "line" | "cell" | "shell"
    name: str  # magic name ("pip", "run", "capture"); "!" for a shell escape
    args: str  # everything after the name (for a cell magic: its first line's arguments)
    line: int  # 1-based line in the cell
    targets: tuple[str, ...] = ()  # names the construct assigns
    body: str = ""  # a non-Python cell magic's body (``%%bash`` script, ``%%writefile`` text)


@dataclass(frozen=True, slots=True)
class Transformed:
    python: str
    magics: tuple[Magic, ...]


def _interpolations(text: str) -> list[str]:
    """Python expressions IPython interpolates into a magic/shell line: ``{expr}`` and ``$name``."""
    found = [m.group(1).strip() for m in _BRACES.finditer(text)]
    found += [m.group(1) for m in _DOLLAR.finditer(text)]
    return [f for f in found if f]


def _uses_expr(text: str) -> str:
    exprs = _interpolations(text)
    return "(" + ", ".join(exprs) + ",)" if exprs else "pass"


def _split_magic(text: str) -> tuple[str, str]:
    """``"pip install x"`` → ``("pip", "install x")``."""
    head, _, rest = text.strip().partition(" ")
    return head.strip(), rest.strip()


# Options each statement magic takes, getopt style: a letter followed by ":" takes a value
# (attached, ``-r1``, or the next word, ``-s cumulative``).
_MAGIC_OPTIONS = {"timeit": "n:r:tcp:qo", "prun": "D:l:rs:T:q", "lprun": "f:m:D:T:rsu:z", "memit": "r:t:ico", "time": "", "debug": "b:"}


def _strip_options(name: str, args: str) -> str:
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


def _line_magic_targets(name: str, args: str) -> tuple[str, ...]:
    words = args.split()
    if name == "store" and words and words[0] == "-r":
        return tuple(w for w in words[1:] if _IDENT.match(w))
    return ()


def transform_cell(source: str) -> Transformed:
    """Plain-Python version of ``source`` (same number of lines) plus the magics found."""
    if not _QUICK.search(source):
        return Transformed(source, ())
    lines = source.split("\n")
    out: list[str] = []
    magics: list[Magic] = []
    start = 0
    while start < len(lines) and not lines[start].strip():
        out.append(lines[start])
        start += 1
    if start < len(lines) and lines[start].lstrip().startswith("%%"):
        name, args = _split_magic(lines[start].lstrip()[2:])
        body = "\n".join(lines[start + 1 :])
        targets: tuple[str, ...] = ()
        if name == "capture":
            positional = [w for w in args.split() if not w.startswith("-")]
            targets = tuple(w for w in positional[-1:] if _IDENT.match(w))
        if name in PYTHON_BODY_CELL_MAGICS:
            magics.append(Magic("cell", name, args, start + 1, targets))
            out.append(" = ".join((*targets, "None")) if targets else _uses_expr(args))
            rest = transform_cell(body)
            out.extend(rest.python.split("\n"))
            magics.extend(Magic(m.kind, m.name, m.args, m.line + start + 1, m.targets, m.body) for m in rest.magics)
            return Transformed("\n".join(out), tuple(magics))
        magics.append(Magic("cell", name, args, start + 1, targets, body))
        out.append(_uses_expr(args) if name not in {"bash", "sh", "script", "system"} else _uses_expr(args + "\n" + body))
        out.extend("" for _ in lines[start + 1 :])
        return Transformed("\n".join(out), tuple(magics))

    in_string: str | None = None
    continuing = False
    for number, line in enumerate(lines[start:], start=start + 1):
        if continuing:
            continuing = line.rstrip().endswith("\\")
            out.append("")
            continue
        if in_string is None:
            stripped = line.lstrip()
            indent = line[: len(line) - len(stripped)]
            replaced = _transform_line(stripped, indent, number, magics)
            if replaced is not None:
                continuing = line.rstrip().endswith("\\") and not stripped.startswith("?")
                out.append(replaced)
                continue
        out.append(line)
        for quote in ('"""', "'''"):
            count = line.count(quote)
            if count % 2 and (in_string is None or in_string == quote):
                in_string = quote if in_string is None else None
    return Transformed("\n".join(out), tuple(magics))


def _transform_line(stripped: str, indent: str, number: int, magics: list[Magic]) -> str | None:
    if not stripped:
        return None
    if stripped.startswith("%%"):  # a cell magic not on the first line: IPython rejects it too
        name, args = _split_magic(stripped[2:])
        magics.append(Magic("line", name, args, number))
        return indent + "pass"
    if stripped.startswith("%"):
        name, args = _split_magic(stripped[1:].rstrip("\\"))
        if name in _STATEMENT_LINE_MAGICS:
            statement = _strip_options(name, args)
            magics.append(Magic("line", name, args, number))
            return indent + (statement.strip() or "pass")
        targets = _line_magic_targets(name, args)
        magics.append(Magic("line", name, args, number, targets))
        if targets:
            return indent + "; ".join(f"{t} = None" for t in targets)
        return indent + _uses_expr(args)
    if stripped.startswith("!"):
        command = stripped.lstrip("!").rstrip("\\")
        magics.append(Magic("shell", "!", command.strip(), number))
        return indent + _uses_expr(command)
    if _HELP.match(stripped):
        magics.append(Magic("line", "pinfo", stripped.strip("?"), number))
        return indent + "pass"
    match = _ASSIGN.match(indent + stripped)
    if match:
        targets = tuple(t.strip() for t in match.group(2).split(","))
        rest = match.group(4)
        if match.group(3) == "!":
            magics.append(Magic("shell", "!", rest.strip(), number, targets))
        else:
            name, args = _split_magic(rest)
            magics.append(Magic("line", name, args, number, targets))
        return (
            indent
            + ", ".join(targets)
            + " = "
            + ("None" if len(targets) == 1 else "(" + ", ".join("None" for _ in targets) + ")")
            + ("; " + _uses_expr(rest) if _interpolations(rest) else "")
        )
    return None
