"""Turn an IPython cell into plain Python with the same line numbers, recording its magics.

The linter never imports IPython: this is a small, line-based model of the syntax IPython adds,
following IPython's own rules:

- escapes (``%magic``, ``!shell``, ``x = !cmd``, ``?obj``, ``obj??``) are recognised only at the
  start of a *logical* line — a ``%`` that continues an open bracket (``print('%d'\\n  % n)``) or
  sits inside a triple-quoted string is Python, not a magic;
- help syntax is any logical line that starts with ``?`` or whose code ends with ``?``
  (``?df.plot.bar()``, ``df.plot??``);
- a ``!`` line or a magic's argument line is expanded by IPython's ``var_expand``: ``$name`` and
  ``{expr}`` are replaced by Python values *only when every one of them evaluates*; otherwise the
  text goes to the shell unchanged (``$HOME``, ``{print $1}``, ``{} \\;`` stay literal). Those
  names are therefore *soft* reads (``Magic.expands``), never a NameError;
- a cell magic's body is handed to the magic as text: ``%%bash``/``%%sh`` bodies are shell, not
  Python, and are never expanded; bodies of ``%%time``/``%%capture``… are Python; the body of an
  unknown cell magic is kept as Python only if it parses, and only for the names it binds
  (``Transformed.body_uncertain``).

``%%capture out`` becomes ``out = None``, ``files = !ls`` becomes ``files = None``,
``%time y = f(x)`` becomes ``y = f(x)``; every other IPython line becomes ``pass``.
"""

from __future__ import annotations

import ast
import itertools
import re
import textwrap
from dataclasses import dataclass

from nb2prod.lint.magic_args import (
    IDENT,
    OUTPUT_FLAG_MAGICS,
    cython_names,
    expanded_names,
    line_magic_targets,
    output_flags,
    split_magic,
    strip_options,
)

__all__ = ["NON_PYTHON_CELL_MAGICS", "PYTHON_BODY_CELL_MAGICS", "Magic", "Transformed", "automagic_candidate", "expanded_names", "transform_cell"]

# Cell magics whose body is Python that runs in the user namespace.
PYTHON_BODY_CELL_MAGICS = frozenset({"capture", "time", "timeit", "prun", "debug", "python", "python3", "memit", "snakeviz", "lprun", "scalene"})
# Cell magics whose body is not Python (shell, markup, other languages, file contents).
NON_PYTHON_CELL_MAGICS = frozenset(
    {
        "bash", "sh", "script", "system", "sx", "html", "HTML", "javascript", "js", "latex", "markdown", "svg", "writefile",
        "file", "perl", "ruby", "pypy", "python2", "R", "julia", "octave", "matlab", "sql", "bigquery", "cmd", "powershell",
        "sparksql", "spark", "sql_query", "mermaid", "graphviz", "dot", "cython", "fortran", "cpp", "c", "kql", "kusto",
    }
)  # fmt: skip
SHELL_CELL_MAGICS = frozenset({"bash", "sh", "script", "system", "sx"})
# Line magics (and shell aliases) IPython runs without their ``%`` when automagic is on (the default).
AUTOMAGICS = frozenset(
    {
        "alias", "alias_magic", "autoawait", "autocall", "autoindent", "automagic", "bookmark", "cat", "cd", "clear", "code_wrap",
        "colors", "conda", "config", "cp", "debug", "dhist", "dirs", "doctest_mode", "ed", "edit", "env", "gui", "hist", "history",
        "killbgscripts", "ldir", "less", "lf", "lk", "ll", "load", "load_ext", "loadpy", "logoff", "logon", "logstart", "logstate",
        "logstop", "ls", "lsmagic", "lx", "macro", "magic", "mamba", "man", "matplotlib", "micromamba", "mkdir", "more", "mv",
        "notebook", "page", "pastebin", "pdb", "pdef", "pdoc", "pfile", "pinfo", "pinfo2", "pip", "popd", "pprint", "precision",
        "prun", "psearch", "psource", "pushd", "pwd", "pycat", "pylab", "quickref", "recall", "rehashx", "reload_ext", "rep",
        "rerun", "reset", "reset_selective", "rm", "rmdir", "run", "save", "sc", "set_env", "sx", "system", "tb", "time", "timeit",
        "unalias", "unload_ext", "uv", "who", "who_ls", "whos", "xdel", "xmode", "autosave", "connect_info", "qtconsole",
        "autoreload", "aimport", "store", "lprun", "memit", "mprun",
    }
)  # fmt: skip
_AUTOMAGIC_LINE = re.compile(r"^(\s*)([A-Za-z_]\w*)(?:\s+(.*))?$")
# Line magics whose argument is a Python statement run in the user namespace.
_STATEMENT_LINE_MAGICS = frozenset({"time", "timeit", "prun", "debug", "memit", "lprun"})

_QUICK = re.compile(r"^\s*[%!?]|\?\s*(#.*)?$|=\s*[!%]", re.M)
_ASSIGN = re.compile(r"^([A-Za-z_][\w]*(?:\s*,\s*[A-Za-z_][\w]*)*)\s*=\s*([!%])(.*)$")
_OPEN = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True, slots=True)
class Magic:
    """One IPython-only construct in a cell."""

    kind: str  # "line" | "cell" | "shell" | "help"
    name: str  # magic name ("pip", "run", "capture"); "!" for a shell escape; "pinfo" for help
    args: str  # everything after the name (for a cell magic: its first line's arguments)
    line: int  # 1-based line in the cell
    targets: tuple[str, ...] = ()  # names the construct assigns
    body: str = ""  # a non-Python cell magic's body (``%%bash`` script, ``%%writefile`` text)
    expands: tuple[str, ...] = ()  # Python names IPython substitutes into the line *if they exist*


@dataclass(frozen=True, slots=True)
class Transformed:
    python: str
    magics: tuple[Magic, ...]
    body_uncertain: bool = False  # the body of an unknown cell magic: keep its bindings, not its reads


@dataclass(slots=True)
class _Scan:
    """Python's lexical state between physical lines: open brackets, an open triple-quoted string."""

    depth: int = 0
    string: str | None = None  # the triple quote that is open
    backslash: bool = False  # the previous line ended with a continuation backslash

    @property
    def at_line_start(self) -> bool:
        return self.depth == 0 and self.string is None and not self.backslash

    def feed(self, line: str) -> int:
        """Advance over one physical line; return the index just past its last code character."""
        i, n = 0, len(line)
        code_end = 0
        while i < n:
            if self.string is not None:
                end = line.find(self.string, i)
                while end > 0 and _escaped(line, end):
                    end = line.find(self.string, end + 1)
                if end < 0:
                    i = n
                    break
                i = end + 3
                self.string = None
                code_end = i
                continue
            ch = line[i]
            if ch == "#":
                break
            if ch in "\"'":
                triple = line[i : i + 3]
                if triple in ('"""', "'''"):
                    self.string = triple
                    i += 3
                    continue
                end = i + 1
                while end < n and line[end] != ch:
                    end += 2 if line[end] == "\\" else 1
                i = end + 1
                code_end = min(i, n)
                continue
            if ch in _OPEN:
                self.depth += 1
            elif ch in ")]}":
                self.depth = max(0, self.depth - 1)
            if not ch.isspace():
                code_end = i + 1
            i += 1
        self.backslash = self.string is None and line.rstrip().endswith("\\") and not line.rstrip().endswith("\\\\")
        return code_end


def _escaped(line: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and line[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _cell_magic(lines: list[str], start: int, out: list[str]) -> Transformed:
    name, args = split_magic(lines[start].lstrip()[2:])
    body = "\n".join(lines[start + 1 :])
    expands = expanded_names(args)
    targets: tuple[str, ...] = ()
    if name == "capture":
        positional = [w for w in args.split() if not w.startswith("-")]
        targets = tuple(w for w in positional[-1:] if IDENT.match(w))
    elif name in OUTPUT_FLAG_MAGICS:
        targets = output_flags(args.split())
    elif name == "cython":
        targets = cython_names(body)
    elif name in SHELL_CELL_MAGICS or name in {"perl", "ruby", "python2", "pypy"}:  # ``%%bash --out out --err err``
        words = args.split()
        targets = tuple(w for flag, w in itertools.pairwise(words) if flag in {"--out", "--err", "--proc"} and IDENT.match(w))
    if name in PYTHON_BODY_CELL_MAGICS:
        magics = [Magic("cell", name, args, start + 1, targets, expands=expands)]
        setup = strip_options(name, args) if name == "timeit" else ""  # ``%%timeit -n1 a = f()``: setup code
        out.append(" = ".join((*targets, "None")) if targets else (setup or "pass"))
        rest = transform_cell(body)
        out.extend(rest.python.split("\n"))
        magics.extend(Magic(m.kind, m.name, m.args, m.line + start + 1, m.targets, m.body, m.expands) for m in rest.magics)
        return Transformed("\n".join(out), tuple(magics), rest.body_uncertain)
    magic = Magic("cell", name, args, start + 1, targets, body, expands)
    if targets and name not in SHELL_CELL_MAGICS:  # ``%%R -o x`` / ``%%cython`` bind names the next cells read
        out.append("; ".join(f"{t} = None" for t in targets))
        out.extend("" for _ in lines[start + 1 :])
        return Transformed("\n".join(out), (magic,))
    if name not in NON_PYTHON_CELL_MAGICS:
        rest = transform_cell(body)
        try:
            ast.parse(rest.python)
        except (SyntaxError, ValueError, RecursionError):
            pass
        else:  # a custom magic (``%%backend torch``) over Python code: keep the names it binds
            out.append("pass")
            out.extend(rest.python.split("\n"))
            shifted = tuple(Magic(m.kind, m.name, m.args, m.line + start + 1, m.targets, m.body, m.expands) for m in rest.magics)
            return Transformed("\n".join(out), (magic, *shifted), True)
    out.append("pass")
    out.extend("" for _ in lines[start + 1 :])
    return Transformed("\n".join(out), (magic,))


_LEADING = re.compile(r"^[ \t]+")
_CLASSIC_PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")
_IPYTHON_PROMPT = re.compile(r"^(In \[\d+\]: |\s*\.\.\.+: )")


def _cleanup(source: str) -> str:
    """IPython's cleanup transforms: leading blank lines are dropped, indentation is removed
    (``leading_indent``: the common indentation in IPython 9, the first line's in IPython <= 8 — whichever
    applies, so a cell valid under either is valid here), pasted ``>>>``/``In [1]:`` prompts are stripped."""
    lines = source.split("\n")
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return source
    lines[:first] = [""] * first  # ``leading_empty_lines`` (blanked, not removed: line numbers stay)
    match = _LEADING.match(lines[first])
    if match:
        dedented = textwrap.dedent("\n".join(lines)).split("\n")  # IPython 9: the common indentation
        if dedented[first] != lines[first]:
            lines = dedented
        else:  # IPython <= 8: the first line's indentation, from every line that has it
            space = match.group(0)
            lines = [line[len(space) :] if line.startswith(space) else line for line in lines]
    for prompt in (_CLASSIC_PROMPT, _IPYTHON_PROMPT):
        if prompt.match(lines[first]):
            lines = [prompt.sub("", line, count=1) for line in lines]
    return "\n".join(lines)


def transform_cell(source: str) -> Transformed:
    """Plain-Python version of ``source`` (same number of lines) plus the magics found."""
    if source[:1] in {" ", "\t", ">", "I", "\n", "\r"}:
        source = _cleanup(source)
    if not _QUICK.search(source):
        return Transformed(source, ())
    lines = source.split("\n")
    out: list[str] = []
    start = 0
    while start < len(lines) and not lines[start].strip():
        out.append(lines[start])
        start += 1
    if start < len(lines) and lines[start].lstrip().startswith("%%"):
        return _cell_magic(lines, start, out)

    magics: list[Magic] = []
    scan = _Scan()
    continuing = False  # inside a multi-line IPython escape joined by backslashes
    logical_start = len(out)  # index in ``out`` where the current logical line began
    for number, line in enumerate(lines[start:], start=start + 1):
        if continuing:
            continuing = line.rstrip().endswith("\\")
            out.append("")
            continue
        if scan.at_line_start:
            stripped = line.lstrip()
            indent = line[: len(line) - len(stripped)]
            replaced = _transform_line(stripped, indent, number, magics, line)
            if replaced is not None:
                continuing = line.rstrip().endswith("\\") and not stripped.startswith("?")
                out.append(replaced)
                continue
            logical_start = len(out)
        out.append(line)
        before = scan.string
        code_end = scan.feed(line)
        if logical_start < len(out) - 1 and before is None and line[:code_end].rstrip().endswith("?"):
            # ``obj?`` ending a multi-line logical line: IPython asks help for all of it
            first = out[logical_start]
            out[logical_start:] = [first[: len(first) - len(first.lstrip())] + "pass"] + [""] * (len(out) - logical_start - 1)
            magics.append(Magic("help", "pinfo", line[:code_end].strip().rstrip("?"), number))
            scan = _Scan()
    return Transformed("\n".join(out), tuple(magics))


def automagic_candidate(source: str) -> tuple[str, str] | None:
    """``(name, "%name args")`` when a one-line cell is a magic without its ``%`` (``ls data``,
    ``pwd``, ``time f()``): IPython's automagic, applied to single-line cells only, unless the rest
    of the line assigns (``ls = 5``, ``cd, x = …``). Whether a Python name shadows it is for the
    caller to decide (it knows the notebook's names)."""
    lines = [line for line in source.split("\n") if line.strip()]
    if len(lines) != 1:
        return None
    match = _AUTOMAGIC_LINE.match(lines[0].rstrip())
    if match is None or match.group(2) not in AUTOMAGICS:
        return None
    rest = (match.group(3) or "").lstrip()
    if rest[:1] in {"=", ","}:
        return None
    return match.group(2), source.replace(lines[0], f"{match.group(1)}%{lines[0].lstrip()}", 1)


def _help_target(stripped: str, line: str) -> str | None:
    """What ``?obj``/``obj??`` asks help for, if this single logical line is help syntax."""
    if stripped.startswith("?"):
        return stripped.lstrip("?").strip()
    probe = _Scan()
    code_end = probe.feed(line)
    if probe.depth or probe.string or probe.backslash:
        return None
    code = line[:code_end].rstrip()
    if code.endswith("?") and not code.lstrip().startswith("#"):
        return code.strip().rstrip("?").strip()
    return None


def _transform_line(stripped: str, indent: str, number: int, magics: list[Magic], line: str) -> str | None:
    if not stripped or stripped.startswith("#"):
        return None
    target = _help_target(stripped, line) if "?" in stripped else None
    if target is not None:
        magics.append(Magic("help", "pinfo", target, number))
        return indent + "pass"
    if stripped.startswith("%%"):  # a cell magic not on the first line: IPython rejects it too
        name, args = split_magic(stripped[2:])
        magics.append(Magic("line", name, args, number))
        return indent + "pass"
    if stripped.startswith("%"):
        name, args = split_magic(stripped[1:].rstrip("\\"))
        if name in _STATEMENT_LINE_MAGICS:
            statement = strip_options(name, args)
            magics.append(Magic("line", name, args, number))
            return indent + (statement.strip() or "pass")
        targets = line_magic_targets(name, args)
        magics.append(Magic("line", name, args, number, targets, expands=expanded_names(args)))
        if targets:
            return indent + "; ".join(f"{t} = None" for t in targets)
        return indent + "pass"
    if stripped.startswith("!"):
        command = stripped.lstrip("!").rstrip("\\")
        magics.append(Magic("shell", "!", command.strip(), number, expands=expanded_names(command)))
        return indent + "pass"
    match = _ASSIGN.match(stripped)
    if match:
        targets = tuple(t.strip() for t in match.group(1).split(","))
        rest = match.group(3)
        if match.group(2) == "!":
            magics.append(Magic("shell", "!", rest.strip(), number, targets, expands=expanded_names(rest)))
        else:
            name, args = split_magic(rest)
            magics.append(Magic("line", name, args, number, targets, expands=expanded_names(args)))
        return indent + ", ".join(targets) + " = " + ("None" if len(targets) == 1 else "(" + ", ".join("None" for _ in targets) + ")")
    return None
