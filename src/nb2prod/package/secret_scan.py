"""Before a Bento is built, the captured artifacts must hold no credential.

The notebook lint catches a secret written in a cell, but not one the model carries: a key read
from an environment variable at training time, or glued together from pieces, ends up as one
string inside ``model.pkl``, the captured source or the sample rows. This scan runs the lint's
own detectors (:func:`nb2prod.lint.rules.secrets.find_secrets`) over every file that goes into the
Bento — text as text, binary files (pickles) byte-wise, including numpy's UTF-32 strings — and
refuses the deploy naming the file, the kind of secret and where it is, never the secret itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nb2prod.errors import GateRefusedError
from nb2prod.lint.rules.secrets import find_secrets

__all__ = ["ArtifactSecret", "refuse_secrets", "scan_artifacts"]

_TEXT_SUFFIXES = frozenset({".py", ".json", ".yaml", ".yml", ".txt", ".md", ".toml", ".cfg", ".ini", ".csv", ".j2"})
_SKIP_DIRS = frozenset({"spool", "__pycache__", ".bentomodel", "k8s"})
_SKIP_FILES = frozenset({"serve.log", "build.log", "serve.json"})
_STORE_FILES = ("audit.db", "serve.log.")


@dataclass(frozen=True)
class ArtifactSecret:
    """A credential found in a deployment artifact: which file, what kind, where (never the value)."""

    file: str
    kind: str
    where: str

    def __str__(self) -> str:
        return f"{self.kind} in {self.file} ({self.where})"


def _files(folder: Path) -> list[Path]:
    found = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if (
            path.is_file()
            and path.name not in _SKIP_FILES
            and not path.name.startswith(_STORE_FILES)  # the audit store is not shipped (.bentoignore)
            and not _SKIP_DIRS.intersection(relative.parts[:-1])
        ):
            found.append(path)
    return found


def _scan_file(path: Path, name: str) -> list[ArtifactSecret]:
    data = path.read_bytes()
    if path.suffix in _TEXT_SUFFIXES:
        text = data.decode("utf-8", errors="replace")
        return [ArtifactSecret(name, kind, f"line {line}") for kind, line, _ in find_secrets(text)]
    hits: dict[str, ArtifactSecret] = {}
    # A pickle keeps str values as UTF-8 bytes; numpy string arrays as UTF-32 (each ASCII character
    # followed by three NULs): every fourth byte, at each of the four alignments, reads those too.
    views = [(data, "pickled bytes")] + [(data[k::4], "wide-character string") for k in range(4)]
    for encoded, how in views:
        for kind, _, _ in find_secrets(encoded.decode("latin-1")):
            hits.setdefault(kind, ArtifactSecret(name, kind, how))
    return list(hits.values())


def scan_artifacts(folder: Path) -> list[ArtifactSecret]:
    """Every credential the lint's detectors find in the files of a deployment folder."""
    found: list[ArtifactSecret] = []
    for path in _files(folder):
        found += _scan_file(path, path.relative_to(folder).as_posix())
    return found


def refuse_secrets(folder: Path) -> None:
    """Raise :class:`GateRefusedError` naming each credential found in ``folder``'s artifacts."""
    found = scan_artifacts(folder)
    if not found:
        return
    shown = "; ".join(str(s) for s in found[:5]) + (f" (+{len(found) - 5} more)" if len(found) > 5 else "")
    raise GateRefusedError(
        f"the deployment would ship a credential: {shown}",
        fix="keep credentials out of the model and its data (read them in the service from its environment, "
        "not at training time into the model), rotate the exposed credential, then deploy again",
        evidence={"secrets": [{"file": s.file, "kind": s.kind, "where": s.where} for s in found]},
    )
