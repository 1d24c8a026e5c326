"""Pin the environment from the live interpreter: what the model and its code actually use.

BentoML does not infer dependencies and locks declared names against the index, not against
the kernel (FACTS.md). nb2prod maps the top-level modules the pickled model and the captured
notebook code touch to their installed distributions (``importlib.metadata``), adds what those
distributions require (installed versions, recursively), plus what the generated service needs,
and writes exact ``name==version`` pins with the Python version.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import platform
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SERVICE_PACKAGES", "EnvironmentLock", "checked_wheels", "compare_environments", "pin_environment", "wheel_distribution"]

# What every generated service imports, pinned as installed (not their whole dependency tree).
SERVICE_PACKAGES = ("bentoml", "pydantic", "pandas", "numpy", "nb2prod")
_REQ_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"extra\s*==")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(slots=True)
class EnvironmentLock:
    """Exact pins: ``model`` are what the model needs (with dependencies), ``service`` the server's."""

    python: str
    implementation: str
    platform: str
    model: dict[str, str] = field(default_factory=dict)
    service: dict[str, str] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)
    local: dict[str, str] = field(default_factory=dict)  # pinned packages installed from a local folder or file: name → path

    @property
    def packages(self) -> dict[str, str]:
        return dict(sorted({**self.service, **self.model}.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "implementation": self.implementation,
            "platform": self.platform,
            "packages": self.packages,
            "model_packages": sorted(self.model),
            "unresolved_modules": self.unresolved,
            "local_sources": self.local,
        }

    def requirements(self, *, exclude: Iterable[str] = ()) -> str:
        """The ``requirements.lock`` text."""
        skip = {_canonical(n) for n in exclude}
        lines = [
            f"# nb2prod environment lock: python {self.python} ({self.implementation}, {self.platform})",
            f"# model packages (with their dependencies): {', '.join(sorted(self.model)) or '-'}",
            "# service packages: " + ", ".join(sorted(self.service)),
        ]
        if self.unresolved:
            lines.append("# modules not from an installed distribution: " + ", ".join(self.unresolved))
        lines += [f"{name}=={version}" for name, version in self.packages.items() if _canonical(name) not in skip]
        return "\n".join(lines) + "\n"


def _distribution_version(name: str) -> tuple[str, str] | None:
    try:
        dist = md.distribution(name)
    except md.PackageNotFoundError:
        return None
    return _canonical(dist.metadata["Name"] or name), dist.version


def _requires(name: str) -> list[str]:
    try:
        requirements = md.requires(name) or []
    except md.PackageNotFoundError:
        return []
    found = []
    for requirement in requirements:
        if _EXTRA.search(requirement):
            continue
        match = _REQ_NAME.match(requirement)
        if match:
            found.append(match.group(1))
    return found


def _closure(names: Iterable[str]) -> dict[str, str]:
    pinned: dict[str, str] = {}
    queue = list(names)
    while queue:
        name = queue.pop()
        found = _distribution_version(name)
        if found is None or found[0] in pinned:
            continue
        pinned[found[0]] = found[1]
        queue.extend(_requires(name))
    return pinned


def _local_source(name: str) -> str | None:
    """Where ``name`` was installed from, when that is a local folder or file (PEP 610), not an index."""
    try:
        text = md.distribution(name).read_text("direct_url.json")
    except md.PackageNotFoundError:
        return None
    try:
        url = str(json.loads(text or "{}").get("url", ""))
    except ValueError:
        return None
    return url.removeprefix("file://") if url.startswith("file://") else None


def checked_wheels(paths: Iterable[str | Path]) -> list[Path]:
    """``--wheel`` paths resolved; one that is not an existing ``.whl`` file → :class:`UsageError`."""
    from nb2prod.errors import UsageError

    wheels = [Path(p).expanduser().resolve() for p in paths]
    for wheel in wheels:
        if wheel.suffix != ".whl" or not wheel.is_file():
            raise UsageError(f"--wheel {wheel} is not a wheel file", fix="build one with `pip wheel --no-deps FOLDER -w dist` and pass its .whl")
    return wheels


def wheel_distribution(filename: str) -> str:
    """The canonical distribution name of a wheel file (``nb2prod-0.1.0-py3-none-any.whl`` → ``nb2prod``)."""
    return _canonical(filename.split("-", 1)[0])


def pin_environment(modules: Iterable[str]) -> EnvironmentLock:
    """Pins for the top-level ``modules`` the model uses (stdlib skipped), plus the service's."""
    mapping = md.packages_distributions()
    stdlib = set(sys.stdlib_module_names)
    model_dists: set[str] = set()
    unresolved: list[str] = []
    for module in sorted(set(modules)):
        if not module or module in stdlib or (module.startswith("_") and module[1:] in stdlib):
            continue
        dists = mapping.get(module)
        if dists:
            model_dists.update(dists)
        elif module not in {"builtins", "__main__", "nb2prod"} and not module.startswith(("nb2prod_captured_", "_")):
            unresolved.append(module)
    service = {}
    for name in SERVICE_PACKAGES:
        found = _distribution_version(name)
        if found is not None:
            service[found[0]] = found[1]
    model = _closure(model_dists)
    return EnvironmentLock(
        python=platform.python_version(),
        implementation=platform.python_implementation().lower(),
        platform=f"{sys.platform}-{platform.machine()}",
        model=model,
        service=service,
        unresolved=unresolved,
        local={name: path for name in sorted({**service, **model}) if (path := _local_source(name))},
    )


def compare_environments(recorded: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable differences between two ``EnvironmentLock.to_dict()`` results."""
    changes: list[str] = []
    if recorded.get("python") != current.get("python"):
        changes.append(f"python {recorded.get('python')} → {current.get('python')}")
    old, new = recorded.get("packages", {}), current.get("packages", {})
    for name in sorted(set(old) | set(new)):
        if old.get(name) != new.get(name):
            changes.append(f"{name} {old.get(name, 'absent')} → {new.get(name, 'absent')}")
    return changes
