"""``nb2prod deploy NOTEBOOK``: run a notebook with papermill and deploy the model it fits.

A copy of the notebook gets one cell at the end that calls the same core API as ``%deploy``
inside the executed kernel (where the notebook's classes and variables live) and writes the
result, or the error, to a JSON file that this process reads back. The kernel runs in the
notebook's own folder (as ``nb2prod run`` does), so relative data paths work; the notebook itself
is linted, not the copy.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nb2prod.errors as errors
from nb2prod.errors import ExecutionError, Nb2prodError, UsageError
from nb2prod.models import DeployResult, Severity
from nb2prod.settings import Settings
from nb2prod.store import Store

__all__ = ["deploy_notebook"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _error_from(data: Mapping[str, Any]) -> Nb2prodError:
    classes = {cls.code: cls for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, Nb2prodError)}
    cls = classes.get(str(data.get("error")), Nb2prodError)
    if cls is errors.GateRefusedError:
        return errors.GateRefusedError(str(data.get("message")), fix=data.get("fix"), evidence=data.get("evidence") or {})
    return cls(str(data.get("message")), fix=data.get("fix"))


def deploy_notebook(
    settings: Settings,
    store: Store,
    notebook: str | Path,
    *,
    name: str,
    model_var: str = "model",
    data_var: str = "X_train",
    target_var: str | None = "y_train",
    holdout_vars: Sequence[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    timeout_s: float | None = None,
    progress: bool = False,
    fail_on: Severity | None = Severity.ERROR,
) -> DeployResult:
    """Execute ``notebook`` with ``parameters`` and deploy ``model_var`` from its kernel."""
    from nb2prod.adapters.notebooks import NotebookNode, read_notebook, write_notebook
    from nb2prod.package.environment import checked_wheels
    from nb2prod.package.names import validate_name
    from nb2prod.runs import run_notebook

    validate_name(name)
    names = [model_var, data_var, *([target_var] if target_var else []), *(holdout_vars or [])]
    bad = [n for n in names if not _IDENT.match(n)]
    if bad:
        raise UsageError(f"{bad[0]!r} is not a notebook variable name", fix="name variables like model, X_train, y_train")
    if holdout_vars is not None and len(holdout_vars) != 2:
        raise UsageError("holdout needs two variables", fix="e.g. --holdout X_test y_test")
    checked_wheels((options or {}).get("wheels", ()))  # before the notebook runs, not after
    source = Path(notebook).expanduser().resolve()
    nb = read_notebook(source)
    work = settings.home / "tmp" / f"deploy-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    out = work / "result.json"
    variables = {"model": model_var, "data": data_var}
    if target_var:
        variables["target"] = target_var
    if holdout_vars:
        variables["holdout_data"], variables["holdout_target"] = holdout_vars
    kwargs = {
        "name": repr(name),
        "data": data_var,
        "target": target_var or "None",
        "holdout": f"({holdout_vars[0]}, {holdout_vars[1]})" if holdout_vars else "None",
        "notebook": repr(str(source)),
        "namespace": "globals()",
        "history": "globals().get('In', [])",
        "variables": repr(variables),
        **{k: repr(v) for k, v in (options or {}).items()},
    }
    call = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    code = (
        "# injected by `nb2prod deploy`: deploy the model this notebook fitted\n"
        "import json as _nb2prod_json\n"
        "from nb2prod.api import Workspace as _Nb2prodWorkspace\n"
        "from nb2prod.errors import Nb2prodError as _Nb2prodError\n"
        "try:\n"
        f"    with _Nb2prodWorkspace.open({str(settings.home)!r}) as _nb2prod_ws:\n"
        f"        _nb2prod_out = _nb2prod_ws.deploy({model_var}, {call}).to_dict()\n"
        "except _Nb2prodError as _nb2prod_exc:\n"
        "    _nb2prod_out = {'failed': True, **_nb2prod_exc.to_dict()}\n"
        "except NameError as _nb2prod_exc:  # a variable the deploy names is not defined by the notebook\n"
        f"    if getattr(_nb2prod_exc, 'name', None) not in {sorted(set(names))!r}:\n"
        "        raise\n"
        "    _nb2prod_out = {'failed': True, 'error': 'usage', 'message': f'the notebook defines no variable {_nb2prod_exc.name!r}',\n"
        "                    'fix': 'name the notebook variables with --model, --data, --target and --holdout'}\n"
        "except Exception as _nb2prod_exc:  # reported as one line, not as a traceback in this injected cell\n"
        "    _nb2prod_out = {'failed': True, 'error': 'internal', 'message': f'deploy failed: {type(_nb2prod_exc).__name__}: {_nb2prod_exc}'[:400],\n"
        "                    'fix': 'run %deploy in the notebook to see the traceback, and report it if it is an nb2prod bug'}\n"
        f"open({str(out)!r}, 'w').write(_nb2prod_json.dumps(_nb2prod_out))\n"
    )
    nb.cells.append(
        NotebookNode(
            {"id": uuid.uuid4().hex[:8], "cell_type": "code", "metadata": {"tags": ["nb2prod-deploy"]}, "source": code}
            | {"outputs": [], "execution_count": None}
        )
    )
    copy = work / source.name
    write_notebook(nb, copy)
    try:
        run = run_notebook(settings, store, source, dict(parameters or {}), progress=progress, timeout_s=timeout_s,
                           fail_on=fail_on, execute=copy)
        if not out.is_file():
            raise ExecutionError(f"{source.name}: the deploy cell did not run", fix=f"open {run.output}")
        data = json.loads(out.read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if data.get("failed"):
        raise _error_from(data)
    return DeployResult.from_dict(data)
