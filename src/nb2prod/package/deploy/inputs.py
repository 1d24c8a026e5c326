"""``DeployInputs``: the live objects a deploy reads (model, data, target, holdout, the kernel's namespace)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nb2prod.errors import UsageError
from nb2prod.package.deploy.request import DeployRequest

__all__ = ["DeployInputs"]


@dataclass(frozen=True, slots=True)
class DeployInputs:
    """The model and its data as objects; ``namespace``/``history`` let the capture find notebook-defined code."""

    model: Any
    data: Any
    target: Any = None
    holdout: tuple[Any, Any] | None = None
    namespace: Mapping[str, Any] | None = None
    history: Sequence[str] = field(default_factory=tuple)

    @classmethod
    def from_namespace(cls, request: DeployRequest, namespace: Mapping[str, Any], history: Sequence[str] = ()) -> DeployInputs:
        """Read the request's variables from a kernel's namespace; a missing one is a one-line usage error."""
        if not request.model_var or not request.data_var:
            raise UsageError("a deploy needs the model and training data variables", fix="e.g. %deploy model --name NAME --data X_train")
        wanted = [request.model_var, request.data_var, *([request.target_var] if request.target_var else []),
                  *(request.holdout_vars or ())]
        absent = [name for name in wanted if name not in namespace]
        if absent:
            raise UsageError(f"the notebook defines no variable named {absent[0]!r}",
                             fix="run the cell that defines it first, or name the right variable (--model, --data, --target, --holdout)")
        holdout = request.holdout_vars
        return cls(
            model=namespace[request.model_var],
            data=namespace[request.data_var],
            target=namespace[request.target_var] if request.target_var else None,
            holdout=(namespace[holdout[0]], namespace[holdout[1]]) if holdout else None,
            namespace=namespace,
            history=tuple(history),
        )
