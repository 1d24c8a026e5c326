"""Environment: what the notebook imports versus what the project declares and what ran it.

Imports not declared in the project's requirements/pyproject/environment.yml/Pipfile, imports
not installed in this interpreter, declarations without any version constraint, ``%pip`` /
``!pip install`` without versions, and saved outputs produced by different Python or library
versions (a mixed environment). ``propose_lock`` pins every imported distribution from the
live interpreter (``importlib.metadata``) — the ``--fix requirements`` file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from nb2prod.lint.kernel_env import importable, resolve_kernel_env
from nb2prod.lint.notebook import Cell, ParsedNotebook
from nb2prod.lint.project import Project, distribution_for, installed_version, is_stdlib, normalize, parse_requirement_line
from nb2prod.lint.registry import register
from nb2prod.lint.rule import Check, LintContext, Rule
from nb2prod.models import Finding, Severity

__all__ = ["EnvironmentRule", "ThirdPartyImport", "pip_installs", "propose_lock", "third_party_imports"]

_PIP_SHELL = re.compile(r"^(?:\{[^}]*\}\s+-m\s+|python3?\s+-m\s+)?(pip3?|conda|mamba|uv\s+pip)\s+install\s+(.*)$")
_PY_IN_PATH = re.compile(r"[/\\]python(3\.\d+)[/\\]")
_UNPICKLE = re.compile(r"from version (\d+(?:\.\d+)+) when using version (\d+(?:\.\d+)+)")
_HOME_ROOT = re.compile(r"(?<![\w.])(/Users/[A-Za-z0-9._-]+|/home/[A-Za-z0-9._-]+|[A-Za-z]:\\+Users\\+[A-Za-z0-9._-]+)(?=[/\\])")
_SITE_PACKAGES = re.compile(r"((?:/[\w.+-]+)+?)/lib/python(\d\.\d+)/(?:site|dist)-packages/")
_VERSION_LINE = re.compile(r"^\d+\.\d+(\.\d+)?([.+-]?[A-Za-z0-9]+)*$")
_VERSION_ATTR = re.compile(r"([A-Za-z_][\w.]*)\.__version__")
_VERSION_TOKEN = re.compile(r"(?<![\w.])(\d+\.\d+(?:\.\d+)?(?:[.\w+-]*)?)")


@dataclass(frozen=True, slots=True)
class ThirdPartyImport:
    module: str
    distribution: str
    cell: Cell
    line: int


@dataclass(frozen=True, slots=True)
class PipInstall:
    cell: Cell
    line: int
    tool: str
    packages: tuple[str, ...]
    unpinned: tuple[str, ...]
    shell: bool


def third_party_imports(nb: ParsedNotebook, project: Project) -> list[ThirdPartyImport]:
    """First import of each third-party top-level module, in notebook order."""
    found: dict[str, ThirdPartyImport] = {}
    written = _written_modules(nb)
    for cell in nb.code_cells:
        for ref in cell.imports:
            top = ref.top
            if ref.relative or not top or top in found or is_stdlib(top) or top in project.first_party or top in written:
                continue
            found[top] = ThirdPartyImport(top, distribution_for(top), cell, ref.line)
    return list(found.values())


def _written_modules(nb: ParsedNotebook) -> set[str]:
    """Modules the notebook writes itself (``%%writefile helpers.py``, ``%%writefile pkg/mod.py``): first-party."""
    found: set[str] = set()
    for cell in nb.code_cells:
        for magic in cell.magics:
            if magic.kind == "cell" and magic.name in {"writefile", "file"} and magic.args.split():
                path = magic.args.split()[-1].strip("'\"").replace("\\", "/")
                if path.endswith(".py"):
                    found.add(path.rsplit("/", 1)[-1][:-3])
                    found.update(part for part in path.split("/")[:-1] if part.isidentifier())
    return found


def pip_installs(nb: ParsedNotebook) -> list[PipInstall]:
    installs: list[PipInstall] = []
    for cell in nb.code_cells:
        for magic in cell.magics:
            if magic.kind == "line" and magic.name in {"pip", "conda", "mamba"}:
                command, shell = f"{magic.name} {magic.args}", False
            elif magic.kind == "shell" or (magic.kind == "cell" and magic.name in {"bash", "sh", "script"}):
                command, shell = (magic.args if magic.kind == "shell" else magic.body), True
            else:
                continue
            for line_text in command.splitlines() or [command]:
                match = _PIP_SHELL.match(line_text.strip())
                if not match:
                    continue
                tool = match.group(1)
                words = [w.strip("'\"") for w in match.group(2).split()]
                packages: list[str] = []
                skip = False
                for word in words:
                    if skip:
                        skip = False
                        continue
                    if word in {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url", "-f"}:
                        skip = True
                        continue
                    if word.startswith("-") or word in {".", ".."} or "/" in word or word.startswith("{"):
                        continue
                    packages.append(word)
                unpinned = tuple(p for p in packages if not re.search(r"(==|===|@|=\d)", p))
                if packages:
                    installs.append(PipInstall(cell, magic.line, tool, tuple(packages), unpinned, shell and magic.kind == "shell"))
    return installs


def _pip_names(nb: ParsedNotebook) -> set[str]:
    names: set[str] = set()
    for install in pip_installs(nb):
        for package in install.packages:
            parsed = parse_requirement_line(package.replace("=", "==", 1) if re.search(r"[^=<>!~]=[^=]", package) else package)
            if parsed:
                names.add(parsed[0])
    return names


def propose_lock(nb: ParsedNotebook, project: Project) -> list[str]:
    """``name==version`` for every distribution the notebook imports, pinned from this interpreter."""
    pins: dict[str, str] = {}
    for item in third_party_imports(nb, project):
        if item.distribution in project.own_names:
            continue
        version = installed_version(item.distribution)
        pins[item.distribution] = f"{item.distribution}=={version}" if version else f"{item.distribution}  # not installed here: pin it"
    for name in _pip_names(nb):
        if name not in pins:
            version = installed_version(name)
            pins[name] = f"{name}=={version}" if version else f"{name}  # not installed here: pin it"
    return [pins[k] for k in sorted(pins)]


def _output_text(output: dict[str, object]) -> str:
    if output.get("output_type") == "stream":
        text = output.get("text", "")
    elif output.get("output_type") == "error":
        traceback = output.get("traceback")
        text = "\n".join(str(t) for t in traceback) if isinstance(traceback, list) else ""
    else:
        data = output.get("data") or {}
        text = data.get("text/plain", "") if isinstance(data, dict) else ""
    return "".join(text) if isinstance(text, list) else str(text)


@register
class EnvironmentRule(Rule):
    id = "environment"
    title = "Environment"
    checks: ClassVar[dict[str, Check]] = {
        "no-requirements": Check(Severity.WARNING, "The project declares no dependencies at all (no requirements file or pyproject)."),
        "undeclared-import": Check(Severity.WARNING, "An imported third-party package is not declared in the project's requirements."),
        "not-installed": Check(Severity.WARNING, "An imported module is not installed in the notebook's kernel environment (ModuleNotFoundError)."),
        "kernel-unknown": Check(Severity.INFO, "The notebook's kernel is not on this machine: imports were judged against the declared requirements only."),
        "unpinned-declaration": Check(Severity.INFO, "A declared dependency has no version constraint."),
        "unpinned-install": Check(Severity.WARNING, "`%pip install`/`!pip install` without a version installs whatever is newest."),
        "shell-pip": Check(Severity.INFO, "`!pip install` may install into a different environment than the kernel's."),
        "mixed-environment": Check(Severity.WARNING, "Saved outputs were produced by different Python or library versions."),
        "version-drift": Check(Severity.INFO, "Saved outputs came from other versions than this interpreter has."),
    }

    def check_notebook(self, ctx: LintContext) -> Iterable[Finding]:
        project = ctx.project
        imports = third_party_imports(ctx.nb, project)
        pip_names = _pip_names(ctx.nb)
        if not project.declaration_files and imports:
            names = ", ".join(sorted({i.distribution for i in imports})[:12])
            yield self.finding(
                ctx,
                "no-requirements",
                f"the notebook imports {names} but no requirements file or pyproject declares them",
                cell=imports[0].cell,
                line=imports[0].line,
                fix="`nb2prod lint --fix requirements` writes requirements.txt pinned from this interpreter",
                evidence="proposed: " + "; ".join(propose_lock(ctx.nb, project)[:20]),
            )
        env = resolve_kernel_env(ctx.nb.metadata)
        probe = [i.module for i in imports if i.distribution not in pip_names]
        status = importable(env, probe) if probe else {}
        if status is None and probe:
            declared = ", ".join(p.name for p in project.declaration_files[:3]) or "no requirements file"
            yield self.finding(
                ctx,
                "kernel-unknown",
                f"imports were checked against {env.label}: {declared}; whether they are installed was not checked",
                fix="install the notebook's kernel on this machine (or set its kernelspec) so the linter can check the real environment",
            )
        for item in imports:
            installed = True if status is None else status.get(item.module, True)
            if project.declaration_files and not project.declares(item.distribution) and item.distribution not in pip_names:
                version = installed_version(item.distribution)
                pin = f"{item.distribution}=={version}" if version else item.distribution
                yield self.finding(
                    ctx,
                    "undeclared-import",
                    f"`{item.module}` is imported but `{item.distribution}` is not declared in {', '.join(p.name for p in project.declaration_files[:3])}",
                    cell=item.cell,
                    line=item.line,
                    fix=f"add `{pin}` to the requirements (`nb2prod lint --fix requirements`)",
                )
            if not installed:
                declared_in = project.requirements.get(item.distribution)
                note = f" (declared in {declared_in.source.rsplit('/', 1)[-1]}: install the project's requirements there)" if declared_in else ""
                yield self.finding(
                    ctx,
                    "not-installed",
                    f"`{item.module}` is not installed in {env.label}; a fresh run there raises ModuleNotFoundError{note}",
                    cell=item.cell,
                    line=item.line,
                    severity=Severity.INFO if declared_in else None,  # the project declares it: a setup step, not a notebook defect
                    fix=f"install it there (`{env.interpreter or 'python'} -m pip install {item.distribution}`) and declare it in the requirements",
                )
            requirement = project.requirements.get(item.distribution)
            if requirement is not None and not requirement.constrained:
                version = installed_version(item.distribution)
                yield self.finding(
                    ctx,
                    "unpinned-declaration",
                    f"`{item.distribution}` is declared in {requirement.source.rsplit('/', 1)[-1]} without a version",
                    cell=item.cell,
                    line=item.line,
                    fix=f"pin it: `{item.distribution}=={version}`" if version else "pin it to the version you tested with",
                    evidence=f"{requirement.source}:{requirement.line}" if requirement.line else requirement.source,
                )
        for install in pip_installs(ctx.nb):
            if install.unpinned:
                pins = [f"{p}=={installed_version(normalize(p)) or '<version>'}" for p in install.unpinned]
                yield self.finding(
                    ctx,
                    "unpinned-install",
                    f"`{install.tool} install {' '.join(install.unpinned)}` has no version: every run may get a different release",
                    cell=install.cell,
                    line=install.line,
                    fix=f"pin it: `%pip install {' '.join(pins)}` (better: declare it in requirements.txt)",
                )
            if install.shell and install.tool.startswith("pip"):
                yield self.finding(
                    ctx,
                    "shell-pip",
                    "`!pip install` runs the first pip on PATH, which may not be the kernel's environment",
                    cell=install.cell,
                    line=install.line,
                    fix="use `%pip install …` (installs into the running kernel's environment)",
                )
        yield from self._mixed(ctx)

    def _machines(self, ctx: LintContext) -> Iterable[Finding]:
        """Outputs showing two home folders or two site-packages prefixes: two machines or environments."""
        homes: dict[str, int] = {}
        prefixes: dict[str, int] = {}
        versions: set[str] = set()  # two Python versions are reported by _mixed already
        for cell in ctx.nb.code_cells:
            for output in cell.outputs:
                text = _output_text(output)
                if "/" not in text and "\\" not in text:
                    continue
                for match in _HOME_ROOT.finditer(text):
                    root = match.group(1).rstrip("/\\")
                    if root.replace("\\", "/").rsplit("/", 1)[-1].lower() not in {"jovyan", "shared", "public", "runner"}:
                        homes.setdefault(root, cell.index)
                for match in _SITE_PACKAGES.finditer(text):
                    prefixes.setdefault(match.group(1), cell.index)
                    versions.add(match.group(2))
        for what, seen in (("home folders", homes), ("Python environments", prefixes if len(versions) <= 1 else {})):
            if len(seen) > 1:
                (first, a), (second, b) = sorted(seen.items(), key=lambda kv: kv[1])[:2]
                yield self.finding(
                    ctx,
                    "mixed-environment",
                    f"outputs come from two {what}: {first!r} (cell {a}) and {second!r} (cell {b}) — cells were run on different machines",
                    cell=ctx.nb.cells[b],
                    fix="restart the kernel, run all cells in one environment, and save",
                    evidence=", ".join(f"{k} (cell {v})" for k, v in list(seen.items())[:4]),
                )

    def _mixed(self, ctx: LintContext) -> Iterable[Finding]:
        pythons: dict[str, list[Cell]] = {}
        packages: dict[str, dict[str, Cell]] = {}
        for cell in ctx.nb.code_cells:
            texts = [_output_text(o) for o in cell.outputs]
            joined = "\n".join(texts)
            for version in _PY_IN_PATH.findall(joined):
                pythons.setdefault(version, []).append(cell)
            for old, new in _UNPICKLE.findall(joined):
                yield self.finding(
                    ctx,
                    "mixed-environment",
                    f"an object saved with version {old} was loaded with version {new}",
                    cell=cell,
                    fix="re-create the saved artefact with the pinned versions (or pin the version that made it)",
                )
            attrs = _VERSION_ATTR.findall(cell.source)
            if attrs and joined:  # a version printed alone on its line (``print(pd.__version__)`` → ``2.2.3``)
                tokens = [line.strip().strip("'\"") for line in joined.splitlines() if _VERSION_LINE.match(line.strip().strip("'\""))]
                for attr, version in zip(attrs, tokens, strict=False):
                    resolved = ctx.nb.resolve(attr)
                    target = resolved.split(".")[0]
                    if target in {"sys", "platform"}:
                        continue
                    # ``tf.keras.__version__`` is Keras's version, not TensorFlow's: key by the module printed
                    key = distribution_for(target) if resolved == target else resolved
                    packages.setdefault(key, {})[version] = cell
        yield from self._machines(ctx)
        declared = (ctx.nb.metadata.get("language_info") or {}).get("version")
        if len(pythons) > 1:
            described = ", ".join(f"{v} (cell {cells[0].index})" for v, cells in sorted(pythons.items()))
            cell = sorted(pythons.items())[-1][1][0]
            yield self.finding(
                ctx,
                "mixed-environment",
                f"outputs come from different Python versions: {described}",
                cell=cell,
                fix="restart the kernel, run all cells in one environment, and save",
            )
        for distribution, versions in packages.items():
            if len(versions) > 1:
                described = ", ".join(f"{v} (cell {c.index})" for v, c in versions.items())
                yield self.finding(
                    ctx,
                    "mixed-environment",
                    f"outputs show different {distribution} versions: {described}",
                    cell=list(versions.values())[-1],
                    fix="restart the kernel, run all cells in one environment, and save",
                )
                continue
            ((version, cell),) = versions.items()
            here = installed_version(distribution) if "." not in distribution else None
            if here and here != version and version.split(".")[:2] != here.split(".")[:2]:
                yield self.finding(
                    ctx,
                    "version-drift",
                    f"saved outputs were produced with {distribution} {version}; this interpreter has {here}",
                    cell=cell,
                    fix=f"pin {distribution}=={version} or re-run and save the notebook with {here}",
                )
        if isinstance(declared, str) and re.match(r"^\d+\.\d+", declared):
            saved = ".".join(declared.split(".")[:2])
            current = f"{sys.version_info.major}.{sys.version_info.minor}"
            if saved != current:
                yield self.finding(
                    ctx,
                    "version-drift",
                    f"the notebook was last saved by Python {declared}; this interpreter is Python {current}",
                    fix=f'pin the Python version (e.g. `requires-python = "=={saved}.*"`) or re-run and save with {current}',
                )
