"""Portability: paths and URLs that only work on the author's machine or only today.

Absolute paths in any OS style (POSIX, ``C:\\``, ``\\\\server\\share``), whether they exist or
not; home-relative paths (``~/…``, ``Path.home()``); relative paths whose letter case differs
from what is on disk (works on macOS/Windows, fails on Linux); reads from branch-pinned raw
URLs (GitHub, GitLab, Bitbucket, Hugging Face) whose content changes under you.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from nb2prod.lint.data_reads import fold_path, module_env
from nb2prod.lint.notebook import Cell, StringLit
from nb2prod.lint.registry import register
from nb2prod.lint.rule import Check, LintContext, Rule
from nb2prod.models import Finding, Severity

__all__ = ["PortabilityRule", "absolute_path_kind", "home_in_text", "is_pathlike_call", "mutable_url", "output_text", "versioned_url"]

_WINDOWS = re.compile(r"^[A-Za-z]:[\\/]")
_UNC = re.compile(r"^\\\\[^\\\s]+\\[^\\\s]+")
_POSIX = re.compile(r"^/(?:[\w.@+~-]+/)*[\w.@+~ -]*$")
_POSIX_ROOTS = (
    "/home/",
    "/Users/",
    "/mnt/",
    "/media/",
    "/data/",
    "/datasets/",
    "/opt/",
    "/srv/",
    "/var/",
    "/root/",
    "/content/",
    "/kaggle/",
    "/workspace/",
    "/dbfs/",
    "/Volumes/",
    "/scratch/",
    "/storage/",
    "/gpfs/",
    "/net/",
    "/nfs/",
    "/private/",
    "/usr/",
    "/etc/",
    "/tmp/",
    "/shared/",
    "/project/",
    "/projects/",
    "/notebooks/",
    "/app/",
    "/code/",
    "/workdir/",
)
_FILE_EXT = re.compile(r"\.[A-Za-z0-9]{1,8}$")
_PATH_CALLS = re.compile(
    r"(^|\.)(open|Path|PurePath|PosixPath|WindowsPath|read_\w+|to_\w+|load\w*|save\w*|savefig|imread|imwrite|File|"
    r"listdir|scandir|walk|glob|iglob|exists|isfile|isdir|join|chdir|makedirs|mkdir|copy\w*|move|rmtree|remove|"
    r"open_dataset|open_mfdataset|loadtxt|genfromtxt|fromfile|dump|read_text|read_bytes|write_text|write_bytes|"
    r"DataFrame\.from_\w+|Image\.open|ExcelFile|HDFStore|connect|create_engine|chdir|expanduser)$"
)
_MUTABLE_REFS = frozenset({"main", "master", "develop", "dev", "head", "trunk", "latest", "staging", "gh-pages", "default"})
_RAW_URL = [
    re.compile(r"^https?://raw\.githubusercontent\.com/[^/]+/[^/]+/(?:refs/heads/)?(?P<ref>[^/]+)/"),
    re.compile(r"^https?://github\.com/[^/]+/[^/]+/(?:raw|blob)/(?P<ref>[^/]+)/"),
    re.compile(r"^https?://gitlab\.com/.+?/-/(?:raw|blob)/(?P<ref>[^/]+)/"),
    re.compile(r"^https?://bitbucket\.org/[^/]+/[^/]+/raw/(?P<ref>[^/]+)/"),
    re.compile(r"^https?://(?:huggingface\.co|hf\.co)/.+?/(?:resolve|raw)/(?P<ref>[^/]+)/"),
    re.compile(r"^https?://gist\.githubusercontent\.com/[^/]+/[^/]+/raw/(?P<ref>[^/]+)"),
]
_ALWAYS_MUTABLE = re.compile(r"^https?://(docs\.google\.com/spreadsheets|drive\.google\.com|www\.dropbox\.com|dl\.dropboxusercontent\.com)/")
_SHA = re.compile(r"^[0-9a-f]{7,40}$")
_URL_MAGIC_NAMES = frozenset({"cd", "run", "load", "bookmark", "writefile"})


_REMOTE_READERS = re.compile(r"^(read_\w+|get_file|urlretrieve|urlopen|load_dataset|loadtxt|genfromtxt|open_dataset|imread|retrieve|download)$")
_HASH_KEYWORDS = ("file_hash", "known_hash", "md5_hash", "sha256", "hash", "checksum", "md5", "revision", "version")
_VERSIONED = re.compile(
    r"(/v?\d+\.\d+(\.\d+)*[/-]|[?&](version|v|rev|revision|sha|commit)=|/releases/download/|zenodo\.org/record|doi\.org/|"
    r"/[0-9a-f]{40}/|@[0-9a-f]{7,40}|/commit/|/tree/[0-9a-f]{7,40}|archive\.ics\.uci\.edu|/\d{4}-\d{2}-\d{2}/|_v\d+\.|-v\d+\.)",
    re.I,
)
_HOME = re.compile(r"(?<![\w.])(/Users/[A-Za-z0-9._-]+|/home/[A-Za-z0-9._-]+|[A-Za-z]:\\+Users\\+[A-Za-z0-9._ -]+?)(?=[/\\])")
_NOT_PERSONAL = frozenset({"jovyan", "shared", "public", "runner", "user", "username", "yourname", "you", "me", "name", "default", "all users"})


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def versioned_url(url: str) -> bool:
    """The URL names a release, commit, dated snapshot or DOI: its content is fixed."""
    ref = mutable_url(url)
    if ref is None and any(p.match(url) for p in _RAW_URL):
        return True  # a raw URL pinned to a SHA or a version tag
    return bool(_VERSIONED.search(url))


def home_in_text(text: str) -> str | None:
    """The first personal home folder in ``text`` (``/Users/maria``), if any."""
    for match in _HOME.finditer(text):
        user = re.split(r"[/\\]+", match.group(1).rstrip("/\\"))[-1]
        if user.lower() not in _NOT_PERSONAL:
            return match.group(1)
    return None


def output_text(output: dict[str, object]) -> str:
    """The text of a saved output: stream text, an error's traceback, a result's text/plain."""
    kind = output.get("output_type")
    if kind == "stream":
        text = output.get("text", "")
    elif kind == "error":
        traceback = output.get("traceback")
        text = "\n".join(str(t) for t in traceback) if isinstance(traceback, list) else ""
    else:
        data = output.get("data") or {}
        text = data.get("text/plain", "") if isinstance(data, dict) else ""
    return "".join(text) if isinstance(text, list) else str(text)


def is_pathlike_call(call: str | None) -> bool:
    return bool(call and _PATH_CALLS.search(call))


def absolute_path_kind(value: str, *, in_path_call: bool) -> str | None:
    """``"windows"``, ``"unc"``, ``"posix"`` or ``None`` for a string that is an absolute path."""
    text = value.strip()
    if len(text) < 3 or "\n" in text or len(text) > 400:
        return None
    if _WINDOWS.match(text):
        return "windows"
    if _UNC.match(text):
        return "unc"
    looks_absolute = text.startswith("/") and not text.startswith("//") and _POSIX.match(text)
    if looks_absolute and (text.startswith(_POSIX_ROOTS) or (in_path_call and len(text) > 1) or (_FILE_EXT.search(text) and text.count("/") >= 2)):
        return "posix"
    return None


def mutable_url(value: str) -> str | None:
    """The mutable ref (``"main"``) of a branch-pinned raw URL, ``"shared link"`` for drive links."""
    text = value.strip()
    if not text.startswith(("http://", "https://")):
        return None
    for pattern in _RAW_URL:
        match = pattern.match(text)
        if match:
            ref = match.group("ref")
            if _SHA.match(ref):
                return None
            if ref.lower() in _MUTABLE_REFS or not re.match(r"^v?\d+(\.\d+)+", ref):
                return ref
            return None
    if _ALWAYS_MUTABLE.match(text):
        return "shared link"
    return None


def _case_mismatch(folder: Path, relative: str, listing: dict[Path, dict[str, list[str]]]) -> str | None:
    """The on-disk spelling when ``relative`` exists only case-insensitively under ``folder``."""
    parts = [p for p in re.split(r"[\\/]", relative) if p and p != "."]
    if not parts or any(p == ".." for p in parts) or len(parts) > 12:
        return None
    current = folder
    actual: list[str] = []
    mismatch = False
    for part in parts:
        if current not in listing:
            try:
                names = os.listdir(current)
            except OSError:
                return None
            index: dict[str, list[str]] = {}
            for name in names:
                index.setdefault(name.lower(), []).append(name)
            listing[current] = index
        entries = listing[current]
        candidates = entries.get(part.lower(), [])
        if part in candidates:
            actual.append(part)
        elif candidates:
            actual.append(candidates[0])
            mismatch = True
        else:
            return None
        current = current / actual[-1]
    return "/".join(actual) if mismatch else None


@register
class PortabilityRule(Rule):
    id = "portability"
    title = "Portability"
    checks: ClassVar[dict[str, Check]] = {
        "absolute-path": Check(Severity.WARNING, "An absolute path ties the notebook to one machine's folder layout."),
        "home-path": Check(Severity.WARNING, "A home-relative path depends on the user's home folder contents."),
        "path-case": Check(Severity.WARNING, "A file name's case differs from the file on disk: works on macOS/Windows, fails on Linux."),
        "mutable-url": Check(Severity.WARNING, "Data read from a branch-pinned or shared URL can change without notice."),
        "unversioned-url": Check(Severity.WARNING, "Remote data is read with no version or checksum: a changed file changes results silently."),
        "home-path-in-output": Check(Severity.WARNING, "A saved output shows a user's home folder (/Users/…, /home/…, C:\\Users\\…): a leak."),
    }

    def __init__(self) -> None:
        self._listing: dict[Path, dict[str, list[str]]] = {}

    def check_cell(self, ctx: LintContext, cell: Cell) -> Iterable[Finding]:
        seen: set[tuple[str, int]] = set()
        for lit in cell.strings:
            key = (lit.value, lit.line)
            if key in seen:
                continue
            seen.add(key)
            finding = self._check_string(ctx, cell, lit)
            if finding is not None:
                yield finding
        for site in cell.calls:
            if site.dotted.endswith("home") and ctx.nb.resolve(site.dotted) in {"pathlib.Path.home", "Path.home"}:
                yield self.finding(
                    ctx,
                    "home-path",
                    "`Path.home()` makes the notebook read from each user's home folder",
                    cell=cell,
                    line=site.line,
                    fix="keep data inside the project and use a path relative to the notebook",
                )
        yield from self._home_in_outputs(ctx, cell)
        yield from self._unversioned_shell(ctx, cell)
        for magic in cell.magics:
            if magic.name in _URL_MAGIC_NAMES or magic.kind == "shell":
                for word in magic.args.split():
                    kind = absolute_path_kind(word.strip("'\""), in_path_call=magic.name in _URL_MAGIC_NAMES)
                    if kind:
                        yield self._absolute(ctx, cell, magic.line, word.strip("'\""), kind)

    def _home_in_outputs(self, ctx: LintContext, cell: Cell) -> Iterable[Finding]:
        for number, output in enumerate(cell.outputs):
            match = home_in_text(output_text(output))
            if match:
                yield self.finding(
                    ctx,
                    "home-path-in-output",
                    f"output {number} shows the home folder {match!r}: it leaks a user name and ties the saved results to one machine",
                    cell=cell,
                    fix="print paths relative to the project (or clear this output), then restart, run all and save",
                    evidence=match,
                )
                return

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        env: dict[str, str] = {}  # names holding constant strings (URLs), in notebook order
        for cell in ctx.nb.code_cells:
            if cell.tree is None:
                continue
            module_env(cell, env)
            yield from self._unversioned(ctx, cell, env)

    def _unversioned(self, ctx: LintContext, cell: Cell, env: dict[str, str]) -> Iterable[Finding]:
        """``pd.read_csv("https://…/iris.data")``, ``get_file(origin=…)`` without ``file_hash``, ``!wget URL``."""
        for site in cell.calls:
            last = site.dotted.rsplit(".", 1)[-1]
            if not _REMOTE_READERS.match(last):
                continue
            args = site.node.args
            keywords = {k.arg: k.value for k in site.node.keywords if k.arg}
            url_node = keywords.get("origin") or (args[1] if len(args) > 1 else None) if last == "get_file" else (args[0] if args else None)
            if url_node is None:
                url_node = next((keywords[k] for k in ("url", "filepath_or_buffer", "path", "fname", "origin") if k in keywords), None)
            url = (fold_path(url_node, env) or "").strip()
            if not url.startswith(("http://", "https://", "ftp://")) or mutable_url(url) or versioned_url(url):
                continue
            if any(k in keywords and not _is_none(keywords[k]) for k in _HASH_KEYWORDS):
                continue
            yield self.finding(
                ctx,
                "unversioned-url",
                f"reads remote data from {url[:80]!r} with no version or checksum: if the file changes, results change silently",
                cell=cell,
                line=site.line,
                fix="download once, record its sha256 (`file_hash=`/`known_hash=`, or `nb2prod lint --fix manifest`), or use a versioned URL",
                evidence=url[:200],
            )

    def _unversioned_shell(self, ctx: LintContext, cell: Cell) -> Iterable[Finding]:
        for magic in cell.magics:
            if magic.kind != "shell" and not (magic.kind == "cell" and magic.name in {"bash", "sh"}):
                continue
            command = magic.args if magic.kind == "shell" else magic.body
            for text in command.splitlines():
                words = text.split()
                if not words or words[0] not in {"wget", "curl"} or "sha256sum" in command or "md5sum" in command:
                    continue
                urls = [w.strip("'\"") for w in words if w.strip("'\"").startswith(("http://", "https://"))]
                url = next((u for u in urls if not mutable_url(u) and not versioned_url(u) and "{" not in u and "$" not in u), None)
                if url:
                    yield self.finding(
                        ctx,
                        "unversioned-url",
                        f"`{words[0]}` downloads {url[:80]!r} with no version or checksum: if the file changes, results change silently",
                        cell=cell,
                        line=magic.line,
                        fix="check the download's sha256 after it (`sha256sum -c`), or use a versioned URL",
                        evidence=url[:200],
                    )

    def _absolute(self, ctx: LintContext, cell: Cell, line: int, value: str, kind: str) -> Finding:
        style = {"windows": "Windows", "unc": "network (UNC)", "posix": "absolute"}[kind]
        inside = _inside_project(ctx, value)
        fix = (
            f"use the project-relative path {inside!r} (`nb2prod lint --fix paths` rewrites it)"
            if inside
            else "keep the data inside the project (or read its location from a parameter/env var) and use a relative path"
        )
        severity = Severity.INFO if value.startswith("/tmp/") else None
        return self.finding(ctx, "absolute-path", f"{style} path {value!r} only exists on one machine", cell=cell, line=line, fix=fix, severity=severity)

    def _check_string(self, ctx: LintContext, cell: Cell, lit: StringLit) -> Finding | None:
        value = lit.value
        path_call = is_pathlike_call(lit.call)
        kind = absolute_path_kind(value, in_path_call=path_call)
        if kind:
            return self._absolute(ctx, cell, lit.line, value, kind)
        if value.startswith(("~/", "~\\")) or (value == "~" and path_call):
            return self.finding(
                ctx,
                "home-path",
                f"home-relative path {value!r} depends on the user's home folder",
                cell=cell,
                line=lit.line,
                fix="keep the data inside the project and use a path relative to the notebook",
            )
        ref = mutable_url(value)
        if ref:
            pinned = "a shared link whose content the owner can change" if ref == "shared link" else f"pinned to the branch {ref!r}"
            return self.finding(
                ctx,
                "mutable-url",
                f"reads from a URL {pinned}; its content can change between runs",
                cell=cell,
                line=lit.line,
                fix="pin the URL to a commit SHA (or a release) and record the file's sha256 (`nb2prod lint --fix manifest`)",
                evidence=value[:200],
            )
        relative = (path_call or _FILE_EXT.search(value)) and not value.startswith(("http", "/", "\\")) and ctx.nb.path is not None
        if relative:
            actual = _case_mismatch(ctx.nb.folder, value, self._listing)
            if actual:
                return self.finding(
                    ctx,
                    "path-case",
                    f"{value!r} is spelled {actual!r} on disk; a case-sensitive file system (Linux) will not find it",
                    cell=cell,
                    line=lit.line,
                    fix=f"use the exact name {actual!r}",
                )
        return None


def _inside_project(ctx: LintContext, value: str) -> str | None:
    """The notebook-relative spelling of an absolute path that points inside the project."""
    if ctx.nb.path is None or not value.startswith("/"):
        return None
    try:
        target = Path(value)
        root = ctx.project.root.resolve()
        if not target.is_relative_to(root):
            return None
        return os.path.relpath(target, ctx.nb.folder.resolve()).replace(os.sep, "/")
    except (OSError, ValueError):
        return None
