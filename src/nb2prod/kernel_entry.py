"""What the cell ``nb2prod deploy`` appends to a notebook runs: deploy from the kernel's own variables.

Every outcome — success, an nb2prod refusal, a missing variable, an unexpected exception — is
written as JSON to ``out``; the cell itself never raises, so the run shows no traceback from a
cell nb2prod injected. Progress lines go to ``progress`` for the process that started the run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["deploy_in_kernel"]


def deploy_in_kernel(home: str, request_json: str, out: str, progress: str, namespace: Mapping[str, Any],
                     where: Mapping[str, str]) -> None:
    """Deploy ``request`` from ``namespace``; write ``{"failed": …}`` or the result to ``out``."""
    result: dict[str, Any]
    progress_file = Path(progress)

    def say(message: str) -> None:
        try:
            with progress_file.open("a", encoding="utf-8") as log:
                log.write(json.dumps({"phase": message}) + "\n")
        except OSError:  # progress is a courtesy: it never fails the deploy
            pass

    try:
        from nb2prod.api import Workspace
        from nb2prod.errors import Nb2prodError
        from nb2prod.package.deploy.inputs import DeployInputs
        from nb2prod.package.deploy.request import DeployRequest
        from nb2prod.package.deploy.variables import check_variables

        request = DeployRequest.from_json(request_json)
        try:
            inputs = DeployInputs.from_namespace(request, namespace, list(namespace.get("In", []) or []))
            check_variables(inputs.model, inputs.data, model_var=request.model_var or "model", data_var=request.data_var or "data",
                            where=where, holdout=inputs.holdout[0] if inputs.holdout else None,
                            holdout_var=request.holdout_vars[0] if request.holdout_vars else None)
            with Workspace.open(home) as workspace:
                result = workspace.deploy_request(request, inputs, progress=say).to_dict()
        except Nb2prodError as exc:
            result = {"failed": True, **exc.to_dict()}
    except Exception as exc:  # reported as one line, not as a traceback in the injected cell
        result = {"failed": True, "error": "internal", "message": f"deploy failed: {type(exc).__name__}: {exc}"[:400],
                  "fix": "run %deploy in the notebook to see the traceback, and report it if it is an nb2prod bug"}
    Path(out).write_text(json.dumps(result), encoding="utf-8")
    say("finishing the notebook run")  # what follows (kernel shutdown, saving the run) is the run's time again
