"""The only module importing papermill: execute a notebook with parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nb2prod.errors import ExecutionError, NotebookError

__all__ = ["declared_parameters", "execute_notebook"]


def execute_notebook(
    notebook: Path,
    output: Path,
    parameters: dict[str, Any],
    *,
    cwd: Path,
    progress: bool = True,
    timeout_s: float | None = None,
    kernel_name: str | None = None,
) -> None:
    """Run ``notebook`` into ``output`` with ``parameters`` injected after its ``parameters`` cell.

    Raises :class:`ExecutionError` naming the failing cell and exception; the partly executed
    output notebook is still written for inspection.
    """
    import papermill as pm
    from papermill.exceptions import PapermillException, PapermillExecutionError

    from nb2prod.adapters.kernel import kernel_manager_class

    if kernel_name is None and not _declared_kernel(notebook):
        kernel_name = "python3"  # a notebook saved without a kernelspec runs on the default Python kernel
    try:
        pm.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            cwd=str(cwd),
            progress_bar=progress,
            execution_timeout=timeout_s,
            kernel_name=kernel_name,
            log_output=False,
            kernel_manager_class=kernel_manager_class(),
        )
    except PapermillExecutionError as exc:
        failed = ExecutionError(
            f"{notebook.name}: cell {exc.exec_count} raised {exc.ename}: {exc.evalue}",
            fix=f"open {output} to see the failing cell's traceback",
        )
        failed.cell = exc.exec_count if isinstance(exc.exec_count, int) else None
        raise failed from exc
    except PapermillException as exc:
        raise NotebookError(f"{notebook.name}: {exc}", fix="check the notebook and its parameters") from exc
    except Exception as exc:  # kernel start failures and timeouts come from jupyter_client/nbclient
        message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ExecutionError(
            f"{notebook.name}: execution failed ({exc.__class__.__name__}: {message})",
            fix="check the kernel named in the notebook is installed (`jupyter kernelspec list`)",
        ) from exc


def _declared_kernel(notebook: Path) -> str | None:
    try:
        meta = json.loads(notebook.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return None
    name = (meta.get("kernelspec") or {}).get("name")
    return str(name) if name else None


def declared_parameters(notebook: Path) -> dict[str, Any]:
    """The names (and default source text) the notebook's ``parameters`` cell declares."""
    import papermill as pm

    try:
        return {name: spec.get("default") for name, spec in pm.inspect_notebook(str(notebook)).items()}
    except Exception:  # an unparseable parameters cell declares nothing we can rely on
        return {}
