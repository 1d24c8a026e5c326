"""Feedback (ground-truth labels, business outcomes) and human overrides, joined to a prediction's
audit row by request id."""

from __future__ import annotations

import math
import time
from typing import Any

from nb2prod.errors import InvalidInputError, NotFoundError
from nb2prod.models import Feedback, Override
from nb2prod.runtime.state import RuntimeState

__all__ = ["FeedbackHandling"]


class FeedbackHandling(RuntimeState):
    """:meth:`feedback` and :meth:`override` for answered requests."""

    def _known(self, request_id: str) -> None:
        with self._recent_lock:
            if request_id in self._recent:
                return
        store = self.writer.store.get()
        if store.audit.exists(request_id):
            return
        if self.writer.pending > 0:
            self.writer.flush(2.0)
            if store.audit.exists(request_id):
                return
        raise NotFoundError(f"no prediction with request id {request_id!r}", fix="use the request_id a prediction returned")

    def _label(self, value: Any, what: str) -> Any:
        if self.spec.task == "regression" or value is None:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)):
                raise InvalidInputError(f"{what} {value!r} is not a number", fix="send the observed value as a number")
            return value
        for cls in self.spec.classes or ():
            if value == cls or str(value) == str(cls):
                return cls
        raise InvalidInputError(
            f"{what} {value!r} is not one of the classes {list(self.spec.classes or ())!r}",
            fix="send one of the model's class labels",
        )

    def feedback(self, request_id: str, *, label: Any = None, outcome: float | None = None, source: str | None = None) -> Feedback:
        """Store a ground-truth label and/or business outcome for a request; joined to its audit row."""
        if label is None and outcome is None:
            raise InvalidInputError("feedback needs a label or an outcome", fix="send label (the true class) and/or outcome")
        if outcome is not None and (isinstance(outcome, bool) or not math.isfinite(float(outcome))):
            raise InvalidInputError(f"outcome {outcome!r} is not a finite number", fix="send the outcome as a number")
        item = Feedback(request_id=request_id, label=self._label(label, "label"), outcome=outcome, ts=time.time(), source=source)
        self._known(request_id)
        self.writer.store.get().audit.add_feedback([item])
        self.metrics.feedback("feedback")
        return item

    def override(self, request_id: str, *, decision: Any, operator: str, reason: str) -> Override:
        """Store a human operator's decision replacing the model's for a request (who and why)."""
        if not operator.strip() or not reason.strip():
            raise InvalidInputError("an override needs the operator and a reason", fix="send operator and reason")
        if decision is None:
            raise InvalidInputError("an override needs a decision", fix="send the decision that replaces the model's")
        item = Override(
            request_id=request_id, decision=self._label(decision, "decision"), operator=operator, reason=reason, ts=time.time()
        )
        self._known(request_id)
        self.writer.store.get().audit.add_override(item)
        self.metrics.feedback("override")
        return item
