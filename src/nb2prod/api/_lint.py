"""The core API's lint part: notebooks' reproducibility findings, fixes and data manifests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from nb2prod.lint.fixes import FixResult
    from nb2prod.models import DataFile, LintReport

from nb2prod.api._base import WorkspaceBase

__all__ = ["Linting"]


class Linting(WorkspaceBase):
    """The core API's lint part: notebooks' reproducibility findings, fixes and data manifests."""

    # -- lint ---------------------------------------------------------------------
    def lint_notebook(
        self, path: str | Path, *, run: bool = False, history: Sequence[str] | None = None, timeout_s: float = 600.0
    ) -> LintReport:
        """Reproducibility findings for one notebook; ``run=True`` adds restart-and-run-all evidence (two fresh kernels).

        ``history`` is the kernel's input history (``In``), used to find names that only
        deleted cells defined. Raises :class:`~nb2prod.errors.NotebookError` for a missing or corrupt file.
        """
        from nb2prod.lint import lint_notebook

        return lint_notebook(path, run=run, history=history, timeout_s=timeout_s)

    def lint_paths(self, paths: Sequence[str | Path], *, run: bool = False, timeout_s: float = 600.0) -> list[LintReport]:
        """Lint every notebook under ``paths`` (folders recursively); an unreadable file gets its own finding."""
        from nb2prod.lint import lint_paths

        return lint_paths(paths, run=run, timeout_s=timeout_s)

    def lint_fix(self, path: str | Path, fixes: Sequence[str]) -> list[FixResult]:
        """Apply safe fixes (``seed``, ``paths``, ``requirements``, ``manifest`` or ``all``) to one notebook."""
        from nb2prod.lint import apply_fixes

        return apply_fixes(path, fixes)

    def data_manifest(self, path: str | Path) -> list[DataFile]:
        """Data files the notebook reads, with size and sha256 now."""
        from nb2prod.lint import data_manifest

        return data_manifest(path)

    @staticmethod
    def notebooks_in(paths: Sequence[str | Path]) -> list[Path]:
        """The notebook files ``paths`` name (folders searched recursively), as ``lint_paths`` finds them."""
        from nb2prod.lint import discover

        return discover(paths)
