"""The only module importing nbclient: restart-and-run-all in a fresh kernel, bounded in time."""

from __future__ import annotations

import copy
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nb2prod.errors import ExecutionError

__all__ = ["CellRun", "KernelRun", "kernel_manager_class", "run_all"]


@functools.cache
def kernel_manager_class() -> type:
    """The kernel manager for our headless kernels (lint re-runs, papermill runs).

    On POSIX the kernel talks over Unix sockets in the temp folder instead of TCP on localhost: no
    port for other local users to reach, and no "running over TCP without encryption" warning from
    ipykernel in the user's output. Elsewhere (Windows), the default TCP manager.
    """
    import os
    import sys
    import tempfile
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import CaselessStrEnum, default

    if sys.platform == "win32":
        return AsyncKernelManager

    class IpcKernelManager(AsyncKernelManager):
        transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc", config=True)

        @default("ip")
        def _ip_default(self) -> str:  # the sockets' path prefix (short: Unix socket paths are limited to ~100 bytes)
            return os.path.join(tempfile.gettempdir(), f"nb2prod-kernel-{uuid.uuid4().hex[:8]}")

        async def _async_interrupt_kernel(self) -> None:
            # jupyter_client interrupts every kernel it shuts down; a kernel between two messages then prints
            # "ERROR | KeyboardInterrupt caught in kernel." into the user's terminal. The shutdown request that
            # follows ends an idle kernel, and a stuck one gets SIGTERM then SIGKILL anyway.
            if self.shutting_down:
                return
            await super()._async_interrupt_kernel()

    return IpcKernelManager


@dataclass(slots=True)
class CellRun:
    index: int
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: tuple[str, str] | None = None  # (ename, evalue)


@dataclass(slots=True)
class KernelRun:
    cells: dict[int, CellRun] = field(default_factory=dict)
    timed_out_at: int | None = None
    died_at: int | None = None
    duration_s: float = 0.0


def run_all(nb: Any, *, cwd: Path, timeout_s: float, kernel_name: str | None = None, env: dict[str, str] | None = None) -> KernelRun:
    """Execute every code cell of a copy of ``nb`` top to bottom in a new kernel.

    Errors do not stop the run (each cell's error is recorded); the whole run is bounded by
    ``timeout_s`` — the cell that exceeds it is reported in ``timed_out_at``.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    work = copy.deepcopy(nb)
    spec = (work.get("metadata") or {}).get("kernelspec") or {}
    client = NotebookClient(
        work,
        timeout=max(1, int(timeout_s)),
        kernel_name=kernel_name or spec.get("name") or "python3",
        allow_errors=True,
        record_timing=False,
        resources={"metadata": {"path": str(cwd)}},
        kernel_manager_class=kernel_manager_class(),
    )
    result = KernelRun()
    started = time.monotonic()
    deadline = started + timeout_s
    try:
        with client.setup_kernel(**({"env": env} if env is not None else {})):
            for index, cell in enumerate(work.cells):
                if cell.get("cell_type") != "code":
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    result.timed_out_at = index
                    break
                client.timeout = max(1, int(remaining))
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    result.timed_out_at = index
                    break
                except DeadKernelError:
                    result.died_at = index
                    break
                run = CellRun(index, [dict(o) for o in cell.get("outputs", [])])
                for output in run.outputs:
                    if output.get("output_type") == "error":
                        run.error = (str(output.get("ename", "")), str(output.get("evalue", "")))
                        break
                result.cells[index] = run
    except (RuntimeError, OSError) as exc:
        if result.timed_out_at is None and result.died_at is None:
            raise ExecutionError(
                f"cannot start a kernel to re-run the notebook ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                fix="check the notebook's kernel is installed (`jupyter kernelspec list`)",
            ) from exc
    except Exception as exc:  # jupyter_client raises NoSuchKernel and others from its own tree
        if exc.__class__.__name__ == "NoSuchKernel":
            raise ExecutionError(f"kernel {client.kernel_name!r} is not installed", fix="install it or pass another kernel name") from exc
        raise
    result.duration_s = time.monotonic() - started
    return result
