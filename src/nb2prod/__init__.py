"""nb2prod: lint a notebook, deploy its model as a guarded BentoML service, monitor it, retrain it.

Importing ``nb2prod`` is cheap: heavy libraries (bentoml, evidently, papermill, jupyter_server,
ipywidgets, scikit-learn) load only when a feature that needs them runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Settings",
    "Workspace",
    "__version__",
    "errors",
    "load_ipython_extension",
]

if TYPE_CHECKING:
    from nb2prod import errors
    from nb2prod.api import Workspace
    from nb2prod.settings import Settings


def __getattr__(name: str) -> Any:
    if name == "Workspace":
        from nb2prod.api import Workspace

        return Workspace
    if name == "Settings":
        from nb2prod.settings import Settings

        return Settings
    if name == "errors":
        import importlib

        return importlib.import_module("nb2prod.errors")
    raise AttributeError(f"module 'nb2prod' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nb2prod``: register the ``%nb2prod`` (and later ``%deploy``) magics."""
    from nb2prod.magics import load_ipython_extension as load

    load(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nb2prod.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "nb2prod"}]
