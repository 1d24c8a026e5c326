"""``nb2prod deploy NOTEBOOK``: run a notebook with papermill and deploy the model it fits.

A copy of the notebook gets one cell — at the end, or after the cell ``--cell N``/``--upto TAG``
names (later cells are left out) — that deploys from the kernel's own variables (where the
notebook's classes live) and writes the result, or the error, to a JSON file this process reads
back. Cells tagged ``skip-deploy`` are left out of the run. The kernel runs in the notebook's own
folder (as ``nb2prod run`` does), so relative data paths work, and the executed notebook lands in
the run's versioned folder; the notebook itself is what is linted and journalled, not the copy.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import nb2prod.errors as errors
from nb2prod.errors import ExecutionError, Nb2prodError, UsageError
from nb2prod.models import DeployResult, Severity
from nb2prod.package.deploy.request import DeployRequest
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["SKIP_TAG", "deploy_notebook", "prepare_copy"]

SKIP_TAG = "skip-deploy"
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _error_from(data: Mapping[str, Any]) -> Nb2prodError:
    classes = {cls.code: cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, Nb2prodError)}
    cls = classes.get(str(data.get("error")), Nb2prodError)
    if cls is errors.GateRefusedError:
        return errors.GateRefusedError(str(data.get("message")), fix=data.get("fix"), evidence=data.get("evidence") or {})
    return cls(str(data.get("message")), fix=data.get("fix"))


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _capture_index(cells: list[Any], request: DeployRequest, notebook: str) -> int:
    """Index of the cell after which the variables are captured (the last cell by default)."""
    if request.cell is not None:
        code = [i for i, cell in enumerate(cells) if cell.cell_type == "code"]
        if request.cell > len(code):
            raise UsageError(f"--cell {request.cell}: {notebook} has {len(code)} code cells", fix=f"pick N from 1 to {len(code)}")
        return code[request.cell - 1]
    if request.upto is not None:
        for i, cell in enumerate(cells):
            if request.upto in _tags(cell):
                return i
        found = sorted({t for cell in cells for t in _tags(cell)})
        raise UsageError(f"--upto {request.upto}: no cell of {notebook} is tagged {request.upto!r}",
                         fix="tag the cell in Jupyter (View → Cell tags)" + (f"; tags present: {', '.join(found)}" if found else ""))
    return len(cells) - 1


def _ready_cell(nb: Any, request: DeployRequest) -> int | None:
    """The code cell (1-based) by which every variable the deploy reads is assigned and the model fitted."""
    from nb2prod.package.deploy.variables import binding_cells

    sources = [c.source if SKIP_TAG not in _tags(c) else "" for c in nb.cells if c.cell_type == "code"]
    names = list(request.variables.values())
    found = binding_cells(sources, names)
    if len(found) < len(set(names)):
        return None
    fitted = re.compile(rf"\b{re.escape(request.model_var or '')}\s*\.\s*fit\w*\s*\(")
    fits = [i for i, source in enumerate(sources, start=1) if fitted.search(source)]
    return max([*found.values(), *fits[-1:]])


def prepare_copy(nb: Any, request: DeployRequest, *, notebook: str, home: Path, out: Path, progress: Path) -> Any:
    """The notebook to execute: ``skip-deploy`` cells and cells after the capture point emptied, the deploy cell added.

    Emptied cells keep their place (and the notebook its cell numbers) but run nothing.
    """
    from nb2prod.adapters.notebooks import NotebookNode
    from nb2prod.package.deploy.variables import binding_cells

    cells = list(nb.cells)
    stop = _capture_index(cells, request, notebook) if cells else -1
    if (request.cell is not None or request.upto is not None) and SKIP_TAG in _tags(cells[stop]):
        raise UsageError(f"the capture cell of {notebook} is tagged {SKIP_TAG}", fix="capture after a cell that runs")
    code_number = 0
    sources: list[str] = []
    where_cells: list[int] = []
    for i, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        code_number += 1
        if i > stop:
            cell.source = "# left out by `nb2prod deploy`: after the capture point\n"
        elif SKIP_TAG in _tags(cell):
            cell.source = f"# left out by `nb2prod deploy`: tagged {SKIP_TAG}\n"
        else:
            sources.append(cell.source)
            where_cells.append(code_number)
    names = request.variables.values()
    where = {name: f"code cell {where_cells[pos - 1]}" for name, pos in binding_cells(sources, names).items()}
    code = (
        "# added by `nb2prod deploy`: deploy the model this notebook fitted, from its variables\n"
        "from nb2prod.kernel_entry import deploy_in_kernel as _nb2prod_deploy_in_kernel\n"
        f"_nb2prod_deploy_in_kernel({str(home)!r}, {request.to_json()!r}, {str(out)!r}, {str(progress)!r}, globals(), {where!r})\n"
    )
    deploy_cell = NotebookNode(
        {"id": uuid.uuid4().hex[:8], "cell_type": "code", "metadata": {"tags": ["nb2prod-deploy"]}, "source": code,
         "outputs": [], "execution_count": None}
    )
    nb.cells = [*cells[: stop + 1], deploy_cell, *cells[stop + 1:]]
    return nb


class _ProgressTail:
    """Forward the kernel's progress lines to ``say`` while the notebook runs (a background thread)."""

    def __init__(self, path: Path, say: Callable[[str], None]) -> None:
        self.path, self.say, self.seen = path, say, 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="nb2prod-deploy-progress", daemon=True)

    def _poll(self) -> None:
        if not self.path.is_file():
            return
        lines = self.path.read_text(encoding="utf-8").splitlines()
        for line in lines[self.seen:]:
            try:
                self.say(str(json.loads(line)["phase"]))
            except (ValueError, KeyError, TypeError):
                continue
        self.seen = len(lines)

    def _loop(self) -> None:
        while not self.stopped.wait(0.1):
            self._poll()

    def __enter__(self) -> _ProgressTail:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()
        self._poll()  # the last lines, written after the thread's last look


def deploy_notebook(
    settings: Settings,
    store: Store,
    notebook: str | Path,
    request: DeployRequest,
    *,
    progress: Callable[[str], None] | None = None,
    show_cells: bool = False,
) -> DeployResult:
    """Execute ``notebook`` with ``request.parameters`` and deploy ``request.model_var`` from its kernel.

    ``progress`` gets one line per phase (the notebook run, then the deploy's own steps);
    ``show_cells`` shows papermill's per-cell progress bar.
    """
    from nb2prod.adapters.notebooks import read_notebook, write_notebook
    from nb2prod.package.environment import checked_wheels
    from nb2prod.package.names import validate_name
    from nb2prod.runs.notebook_run import run_notebook

    validate_name(request.name)
    if not request.model_var or not request.data_var:
        raise UsageError("a notebook deploy needs the model and training data variables", fix="e.g. --model model --data X_train")
    bad = [n for n in request.variables.values() if not _IDENT.match(n)]
    if bad:
        raise UsageError(f"{bad[0]!r} is not a notebook variable name", fix="name variables like model, X_train, y_train")
    checked_wheels(request.wheels)  # before the notebook runs, not after
    started = time.perf_counter()
    source = Path(notebook).expanduser().resolve()
    nb = read_notebook(source)
    work = settings.home / "tmp" / f"deploy-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    out, progress_file = work / "result.json", work / "progress.jsonl"
    # in the kernel: the notebook's own parameters cell (as papermill set it) is the record of truth
    in_kernel = request.replace(parameters=None, notebook=str(source))
    copy = work / source.name
    ready = _ready_cell(nb, request) if request.cell is None and request.upto is None else None
    write_notebook(prepare_copy(nb, in_kernel, notebook=source.name, home=settings.home, out=out, progress=progress_file), copy)
    say = progress or (lambda _m: None)
    fail_on = None if request.lint_fail_on == "never" else Severity(request.lint_fail_on)
    try:
        say("running the notebook")
        with _ProgressTail(progress_file, say):
            try:
                run = run_notebook(settings, store, source, dict(request.parameters or {}), progress=show_cells,
                                   timeout_s=request.timeout_s, fail_on=fail_on, execute=copy)
            except ExecutionError as exc:
                if ready is None or out.is_file() or (exc.cell is not None and exc.cell <= ready):
                    raise  # a cell the model needs failed: capturing earlier cannot help
                # real notebooks plot or explore after training, with libraries the deploy does not need
                raise ExecutionError(exc.message, fix=f"{exc.fix}; if that cell comes after the model is trained (its variables "
                                     f"are all set by code cell {ready}), deploy with `--cell {ready}` or tag the cell "
                                     f"{SKIP_TAG}") from exc
        if not out.is_file():
            raise ExecutionError(f"{source.name}: the deploy cell did not run", fix=f"open {run.output}")
        data = json.loads(out.read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if data.get("failed"):
        raise _error_from(data)
    # the kernel timed its own deploy cell; the caller waited for the whole notebook run too
    return dataclasses.replace(DeployResult.from_dict(data), duration_s=time.perf_counter() - started)
