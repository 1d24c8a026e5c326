"""Step "undo": what a failing deploy wrote — folder, BentoML model and Bento, registry rows, service — goes again."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nb2prod.errors import Nb2prodError
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["Undo"]


class Undo:
    """Each step notes here what it created; :meth:`fail` removes all of it and fixes the error's paths."""

    def __init__(self, settings: Settings, store: Store, folder: Path) -> None:
        self.settings, self.store = settings, store
        self.folder: Path | None = folder
        self.bento_tag: str | None = None
        self.model_tag: str | None = None
        self.unregister: Callable[[], None] | None = None  # takes back the registry transition, once registered
        self.jobs: list[Any] = []
        self.served: str | None = None
        self.mlflow_run: tuple[str, str] | None = None  # (tracking URI, run id) logged for this version

    def done(self) -> None:
        """The deploy succeeded: nothing to undo any more."""
        self.jobs.clear()
        self.unregister = self.served = None
        self.mlflow_run = None
        self.bento_tag = self.model_tag = None
        self.folder = None

    def keep_logs(self) -> dict[str, Path]:
        """Move the folder's logs (``build.log``) to ``<home>/logs/<version>.build.log``: a failed deploy's
        error may point at them, and the folder is about to go. Returns ``{old path: kept path}``."""
        kept: dict[str, Path] = {}
        if self.folder is None:
            return kept
        for log in ("build.log",):
            path = self.folder / log
            if path.is_file() and path.stat().st_size:
                target = self.settings.home / "logs" / f"{self.folder.name}.{log}"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), target)
                kept[str(path)] = target
        return kept

    def fail(self, exc: BaseException) -> None:
        """Undo everything, keeping the logs the error names; rewrite the error's paths to the kept ones."""
        folder = self.folder
        for job in self.jobs:  # the build writes its log until it is stopped
            job.cancel()
        kept = self.keep_logs()
        self.run()
        if isinstance(exc, Nb2prodError):
            for old, new in kept.items():  # the error must not send the user to a file that is gone
                exc.message = exc.message.replace(old, str(new))
                exc.fix = exc.fix.replace(old, str(new)) if exc.fix else exc.fix
            if folder is not None and str(folder) in str(exc):
                exc.fix = ((exc.fix or "") + f" (the deployment folder {folder} was removed)").strip()

    def run(self) -> None:
        for job in self.jobs:
            job.cancel()
        self.jobs.clear()
        if self.served is not None:
            from nb2prod.package.serving import stop_services

            stop_services(self.settings, version_id=self.served)
        if self.unregister is not None:
            self.unregister()
            self.unregister = None
        if self.mlflow_run is not None:
            from nb2prod.adapters.mlflow_models import delete_run

            delete_run(*self.mlflow_run)
            self.mlflow_run = None
        if self.bento_tag or self.model_tag:
            from nb2prod.adapters.bento import delete_artifacts

            delete_artifacts(self.settings.resolved_bentoml_home, bento_tag=self.bento_tag, model_tag=self.model_tag)
        if self.folder is not None and self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)
            parent = self.folder.parent
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
