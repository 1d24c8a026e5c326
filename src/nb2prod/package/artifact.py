"""Save a fitted model into a deployment folder, and the ONE loader that reads it back.

``save_model`` pickles the model so that classes/functions defined in the notebook refer to
the generated ``model/nb_captured.py`` (see :mod:`nb2prod.package.capture`) instead of
``__main__``; ``load_model`` imports that module under its own unique name, then unpickles.
The fresh-process proof, the runtime service and ``rebuild`` all load through ``load_model``.

Layout under ``<deployment>/model/``: ``model.pkl``, ``nb_captured.py`` (when the model needs
notebook code), ``baseline.pkl`` (fallback model, optional) and ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import pickle
import platform
import sys
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.errors import InvalidInputError, NotFoundError
from nb2prod.package.capture import CapturedCode, capture_source, is_notebook_object

__all__ = [
    "MODEL_FORMAT",
    "NATIVE_ADAPTERS",
    "SavedModel",
    "captured_ref",
    "load_model",
    "model_dir",
    "save_baseline",
    "save_model",
    "scan_model",
]

MODEL_FORMAT = "nb2prod.model/1"
_PROTOCOL = 5


def captured_ref(module_name: str, qualname: str) -> Any:
    """Unpickling hook: the object ``qualname`` of an already loaded captured module."""
    module = sys.modules.get(module_name)
    if module is None:
        raise InvalidInputError(
            f"the model needs captured notebook code ({module_name}) that is not loaded",
            fix="load the model with nb2prod.package.artifact.load_model(folder), not pickle.load",
        )
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


class _ModelPickler(pickle.Pickler):
    """Pickles a model; notebook-defined classes/functions become ``captured_ref`` calls."""

    def __init__(self, file: io.BytesIO, module_name: str) -> None:
        super().__init__(file, protocol=_PROTOCOL)
        self.module_name = module_name
        self.notebook_objects: dict[int, type | types.FunctionType] = {}
        self.modules: set[str] = set()

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, (type, types.FunctionType)):
            if is_notebook_object(obj):
                self.notebook_objects.setdefault(id(obj), obj)
                return (captured_ref, (self.module_name, obj.__qualname__))
            module = getattr(obj, "__module__", None)
            if module:
                self.modules.add(module.split(".")[0])
        else:
            self.modules.add(type(obj).__module__.split(".")[0])
        return NotImplemented


def _dump(model: Any, module_name: str) -> tuple[bytes, _ModelPickler]:
    buffer = io.BytesIO()
    pickler = _ModelPickler(buffer, module_name)
    try:
        pickler.dump(model)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise InvalidInputError(
            f"the model cannot be pickled: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            fix="remove open files, locks, generators or lambdas held by the model, refit, and deploy again",
        ) from exc
    return buffer.getvalue(), pickler


@dataclass(slots=True)
class SavedModel:
    """What ``save_model`` wrote: hash, captured code, and the top-level modules the model uses."""

    path: Path
    sha256: str
    captured: CapturedCode
    modules: set[str] = field(default_factory=set)
    size: int = 0


def scan_model(model: Any) -> tuple[list[type | types.FunctionType], set[str]]:
    """Notebook-defined classes/functions the model reaches, and every top-level module it uses."""
    _, pickler = _dump(model, "nb2prod_captured_scan")
    return list(pickler.notebook_objects.values()), pickler.modules


def model_dir(folder: str | Path) -> Path:
    """``<deployment>/model`` (also accepts the model folder itself)."""
    path = Path(folder)
    if (path / "model" / "manifest.json").exists() or not (path / "manifest.json").exists():
        return path / "model"
    return path


#: libraries whose models are saved in their own format: top-level module → adapter module
NATIVE_ADAPTERS = {
    "xgboost": "nb2prod.adapters.xgboost_model",
    "lightgbm": "nb2prod.adapters.lightgbm_model",
    "catboost": "nb2prod.adapters.catboost_model",
}


def _native_adapter(model: Any) -> tuple[str, Any] | None:
    """``(library, adapter module)`` when ``model`` is one its library saves in its own format."""
    import importlib

    library = type(model).__module__.split(".")[0]
    if library not in NATIVE_ADAPTERS:
        return None
    adapter = importlib.import_module(NATIVE_ADAPTERS[library])
    return (library, adapter) if adapter.handles(model) else None


def _save_native(model: Any, target: Path, library: str, adapter: Any) -> SavedModel:
    (target / "model.pkl").unlink(missing_ok=True)  # one model file per folder
    filename, meta = adapter.save(model, target)
    data = (target / filename).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    manifest = {
        "format": MODEL_FORMAT,
        "model_file": filename,
        "native": {"library": library, **meta},
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "sha256": digest,
        "captured_module": None,
        "captured_file": None,
        "captured_definitions": [],
        "python": platform.python_version(),
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return SavedModel(path=target / filename, sha256=digest, captured=CapturedCode(), modules={library}, size=len(data))


def save_model(
    model: Any,
    folder: str | Path,
    *,
    namespace: Mapping[str, Any] | None = None,
    history: Sequence[str] = (),
    title: str = "",
) -> SavedModel:
    """Write ``model`` (and the notebook code it needs) to ``<folder>/model/``."""
    target = Path(folder) / "model"
    target.mkdir(parents=True, exist_ok=True)
    native = _native_adapter(model)
    if native is not None:
        return _save_native(model, target, *native)
    objects, modules = scan_model(model)
    captured = capture_source(objects, namespace=namespace, history=history, title=title)
    data, _ = _dump(model, captured.module_name or "nb2prod_captured_none")
    (target / "model.pkl").write_bytes(data)
    if not captured.empty:
        (target / "nb_captured.py").write_text(captured.source, encoding="utf-8")
    digest = hashlib.sha256(data).hexdigest()
    manifest = {
        "format": MODEL_FORMAT,
        "model_file": "model.pkl",
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "pickle_protocol": _PROTOCOL,
        "sha256": digest,
        "captured_module": captured.module_name or None,
        "captured_file": "nb_captured.py" if not captured.empty else None,
        "captured_definitions": captured.definitions,
        "python": platform.python_version(),
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    modules = (modules | captured.top_modules) - {"builtins", "__main__", "copyreg", "nb2prod"}
    return SavedModel(path=target / "model.pkl", sha256=digest, captured=captured, modules=modules, size=len(data))


def save_baseline(baseline: Any, folder: str | Path) -> Path:
    """Write the fallback baseline model to ``<folder>/model/baseline.pkl`` (no notebook code allowed)."""
    target = Path(folder) / "model"
    target.mkdir(parents=True, exist_ok=True)
    data, pickler = _dump(baseline, "nb2prod_captured_none")
    if pickler.notebook_objects:
        raise InvalidInputError("the baseline model uses notebook-defined code", fix="use a plain scikit-learn baseline")
    (target / "baseline.pkl").write_bytes(data)
    return target / "baseline.pkl"


def _load_captured(directory: Path, manifest: Mapping[str, Any]) -> None:
    name = manifest.get("captured_module")
    if not name or name in sys.modules:
        return
    path = directory / (manifest.get("captured_file") or "nb_captured.py")
    if not path.exists():
        raise NotFoundError(f"{path} is missing; the model needs it", fix="redeploy the model")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py path always has a loader
        raise InvalidInputError(f"cannot import {path}", fix="redeploy the model")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise InvalidInputError(
            f"captured notebook code {path.name} fails to import: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            fix="install the packages it imports (see requirements.lock) or fix the notebook and redeploy",
        ) from exc


def load_model(folder: str | Path, *, which: str = "model") -> Any:
    """Load ``model`` (or ``baseline``) from a deployment folder (or its ``model/`` folder).

    Raises :class:`NotFoundError` when the files are missing and :class:`InvalidInputError`
    when they cannot be loaded in this environment (missing package, incompatible versions).
    """
    directory = model_dir(folder)
    manifest_path = directory / "manifest.json"
    if not manifest_path.exists():
        raise NotFoundError(f"no saved model in {directory}", fix="deploy the model first (%deploy or `nb2prod deploy`)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    filename = manifest.get("model_file", "model.pkl") if which == "model" else f"{which}.pkl"
    path = directory / filename
    if not path.exists():
        raise NotFoundError(f"{path} is missing", fix="redeploy the model")
    native = manifest.get("native") if which == "model" else None
    if isinstance(native, Mapping):
        return _load_native(path, native)
    _load_captured(directory, manifest)
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)
    except ModuleNotFoundError as exc:
        raise InvalidInputError(
            f"{path.name} needs module {exc.name!r}, which is not installed here",
            fix="install the packages pinned in requirements.lock (or make local modules importable)",
        ) from exc
    except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{path.name} cannot be loaded: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            fix="load it with the package versions pinned in requirements.lock",
        ) from exc


def _load_native(path: Path, native: Mapping[str, Any]) -> Any:
    """A model saved in its library's own format, through that library's adapter."""
    import importlib

    library = str(native.get("library"))
    if library not in NATIVE_ADAPTERS:
        raise InvalidInputError(f"{path.name} was saved by {library!r}, which nb2prod cannot load", fix="redeploy the model")
    try:
        adapter = importlib.import_module(NATIVE_ADAPTERS[library])
        return adapter.load(path, native)
    except ModuleNotFoundError as exc:
        raise InvalidInputError(
            f"{path.name} is a {library} model and {library} is not installed here",
            fix=f"pip install 'nb2prod[{library}]' (or the {library} version pinned in requirements.lock)",
        ) from exc
    except Exception as exc:
        raise InvalidInputError(
            f"{path.name} cannot be loaded by {library}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            fix=f"load it with the {library} version pinned in requirements.lock ({native.get('library_version', '?')})",
        ) from exc
