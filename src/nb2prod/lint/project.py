"""The project a notebook belongs to: its root, declared dependencies and first-party modules.

The root is the nearest folder (the notebook's own, then its parents) holding a
``pyproject.toml``, ``setup.py``/``setup.cfg``, ``requirements*.txt``, ``environment.yml``,
``Pipfile`` or ``.git``. Declarations are read from that root and from the notebook's folder.
"""

from __future__ import annotations

import re
import sys
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

__all__ = [
    "Project",
    "Requirement",
    "distribution_for",
    "find_project",
    "installed_version",
    "is_stdlib",
    "normalize",
    "parse_requirement_line",
]

_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "environment.yml", "environment.yaml", "Pipfile", ".git")
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")
_CONDA_LINE = re.compile(r"^\s*-\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$")

# Import names whose distribution is named differently, for when the package is not installed.
_KNOWN_DISTRIBUTIONS = {
    "sklearn": "scikit-learn",
    "skimage": "scikit-image",
    "cv2": "opencv-python",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "bs4": "beautifulsoup4",
    "dateutil": "python-dateutil",
    "attr": "attrs",
    "google.protobuf": "protobuf",
    "Crypto": "pycryptodome",
    "dotenv": "python-dotenv",
    "jwt": "pyjwt",
    "lightgbm": "lightgbm",
    "xgboost": "xgboost",
    "torch": "torch",
    "tensorflow": "tensorflow",
    "tf_keras": "tf-keras",
    "docx": "python-docx",
    "magic": "python-magic",
    "serial": "pyserial",
    "usb": "pyusb",
    "zmq": "pyzmq",
    "git": "gitpython",
    "psycopg2": "psycopg2-binary",
    "IPython": "ipython",
    "ipykernel": "ipykernel",
    "jupyter_client": "jupyter-client",
}


def normalize(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True, slots=True)
class Requirement:
    name: str  # normalised
    specifier: str  # "" when unpinned
    source: str  # file it came from
    line: int | None = None

    @property
    def pinned(self) -> bool:
        return "==" in self.specifier or "===" in self.specifier

    @property
    def constrained(self) -> bool:
        return bool(self.specifier.strip()) or "@" in self.specifier


@dataclass(slots=True)
class Project:
    root: Path
    declaration_files: list[Path] = field(default_factory=list)
    requirements: dict[str, Requirement] = field(default_factory=dict)
    own_names: set[str] = field(default_factory=set)  # the project's own distribution names
    first_party: set[str] = field(default_factory=set)  # importable top-level modules in the project

    def declares(self, distribution: str) -> bool:
        return normalize(distribution) in self.requirements or normalize(distribution) in self.own_names


def parse_requirement_line(line: str) -> tuple[str, str] | None:
    """``"pandas>=2 ; python_version>'3'"`` → ``("pandas", ">=2")``; ``None`` for options/URLs."""
    text = line.split("#", 1)[0].strip()
    if not text or text.startswith("-") or "://" in text.split("@")[0]:
        return None
    text = text.split(";", 1)[0].strip()
    match = _REQ_NAME.match(text)
    if not match:
        return None
    return normalize(match.group(1)), match.group(3).strip()


def _read_requirements(path: Path, into: dict[str, Requirement], depth: int = 0) -> None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith(("-r ", "--requirement ", "-c ")) and depth < 5:
            _read_requirements(path.parent / stripped.split(None, 1)[1].strip(), into, depth + 1)
            continue
        parsed = parse_requirement_line(stripped)
        if parsed:
            into.setdefault(parsed[0], Requirement(parsed[0], parsed[1], str(path), number))


def _read_pyproject(path: Path, project: Project) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return
    meta = data.get("project") or {}
    if isinstance(meta.get("name"), str):
        project.own_names.add(normalize(meta["name"]))
    specs: list[str] = list(meta.get("dependencies") or [])
    for group in (meta.get("optional-dependencies") or {}).values():
        specs.extend(group)
    for group in (data.get("dependency-groups") or {}).values():
        specs.extend(s for s in group if isinstance(s, str))
    for spec in specs:
        parsed = parse_requirement_line(spec)
        if parsed:
            project.requirements.setdefault(parsed[0], Requirement(parsed[0], parsed[1], str(path)))
    poetry = (data.get("tool") or {}).get("poetry") or {}
    if isinstance(poetry.get("name"), str):
        project.own_names.add(normalize(poetry["name"]))
    tables = [poetry.get("dependencies") or {}, poetry.get("dev-dependencies") or {}]
    tables += [(g or {}).get("dependencies") or {} for g in (poetry.get("group") or {}).values()]
    for table in tables:
        for name, spec in table.items():
            if name.lower() == "python":
                continue
            version = spec if isinstance(spec, str) else str((spec or {}).get("version", "")) if isinstance(spec, dict) else ""
            version = "" if version in {"*", ""} else version
            project.requirements.setdefault(normalize(name), Requirement(normalize(name), version, str(path)))


def _read_conda(path: Path, into: dict[str, Requirement]) -> None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return
    for number, line in enumerate(lines, start=1):
        match = _CONDA_LINE.match(line)
        if match and match.group(1) not in {"pip"}:
            name = normalize(match.group(1))
            into.setdefault(name, Requirement(name, match.group(2).strip(), str(path), number))


def _read_pipfile(path: Path, into: dict[str, Requirement]) -> None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return
    for table in ("packages", "dev-packages"):
        for name, spec in (data.get(table) or {}).items():
            version = spec if isinstance(spec, str) else str((spec or {}).get("version", "")) if isinstance(spec, dict) else ""
            into.setdefault(normalize(name), Requirement(normalize(name), "" if version == "*" else version, str(path)))


def _module_names(folder: Path) -> set[str]:
    names: set[str] = set()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return names
    for entry in entries:
        if entry.suffix == ".py" and entry.is_file():
            names.add(entry.stem)
        elif entry.is_dir() and not entry.name.startswith(".") and (entry / "__init__.py").exists():
            names.add(entry.name)
    return names


def _root_for(folder: Path) -> Path:
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in _MARKERS):
            return candidate
        if any(candidate.glob("requirements*.txt")):
            return candidate
    return folder


def find_project(folder: Path, *, cache: dict[str, Project] | None = None) -> Project:
    """The project around ``folder`` (memoised in ``cache`` per folder)."""
    folder = folder.resolve()
    key = str(folder)
    if cache is not None and key in cache:
        return cache[key]
    root = _root_for(folder)
    project = Project(root=root)
    for base in dict.fromkeys((folder, root)):
        for path in sorted(base.glob("*requirements*.txt")) + sorted(base.glob("*requirements*.in")):
            project.declaration_files.append(path)
            _read_requirements(path, project.requirements)
        for name in ("environment.yml", "environment.yaml"):
            if (base / name).exists():
                project.declaration_files.append(base / name)
                _read_conda(base / name, project.requirements)
        if (base / "Pipfile").exists():
            project.declaration_files.append(base / "Pipfile")
            _read_pipfile(base / "Pipfile", project.requirements)
    if (root / "pyproject.toml").exists():
        project.declaration_files.append(root / "pyproject.toml")
        _read_pyproject(root / "pyproject.toml", project)
    for base in dict.fromkeys((folder, root, root / "src")):
        project.first_party |= _module_names(base)
    project.first_party |= {n.replace("-", "_") for n in project.own_names}
    if cache is not None:
        cache[key] = project
    return project


@lru_cache(maxsize=1)
def _packages_distributions() -> dict[str, list[str]]:
    from importlib.metadata import packages_distributions

    return dict(packages_distributions())


def distribution_for(module: str) -> str:
    """The (normalised) distribution that provides top-level ``module``, best effort."""
    if module in _KNOWN_DISTRIBUTIONS:
        return normalize(_KNOWN_DISTRIBUTIONS[module])
    if installed_version(module) is not None:  # the common case, and far cheaper than a full scan
        return normalize(module)
    dists = _packages_distributions().get(module)
    if dists:
        return normalize(dists[0])
    return normalize(module)


@lru_cache(maxsize=4096)
def installed_version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def is_stdlib(module: str) -> bool:
    return module in sys.stdlib_module_names or module == "__future__"
