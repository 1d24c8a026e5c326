"""One exception tree for every front.

Each error carries the HTTP status a REST handler answers with and the exit code the CLI
returns, plus a one-line ``fix`` telling the user what to do. Fronts never invent their own
mapping: they read these attributes.
"""

from __future__ import annotations

__all__ = [
    "ConflictError",
    "ExecutionError",
    "GateRefusedError",
    "InvalidInputError",
    "Nb2prodError",
    "NotFoundError",
    "NotebookError",
    "OverloadedError",
    "ServiceError",
    "StoreError",
    "UsageError",
]


class Nb2prodError(Exception):
    """Base of every error nb2prod raises on purpose.

    ``str(error)`` is one line: what is wrong, then how to fix it.
    """

    http_status: int = 500
    exit_code: int = 1
    code: str = "internal"

    def __init__(self, message: str, *, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = " ".join(message.split())
        self.fix = " ".join(fix.split()) if fix else None

    def __str__(self) -> str:
        return f"{self.message} — {self.fix}" if self.fix else self.message

    def to_dict(self) -> dict[str, object]:
        """The JSON body a REST front answers with."""
        return {"error": self.code, "message": self.message, "fix": self.fix}


class UsageError(Nb2prodError):
    """The caller asked for something malformed (bad flag value, bad name)."""

    http_status = 400
    exit_code = 2
    code = "usage"


class NotFoundError(Nb2prodError):
    """A named thing (file, deployment, version, request id) does not exist."""

    http_status = 404
    exit_code = 3
    code = "not_found"


class ConflictError(Nb2prodError):
    """The request clashes with current state (name taken, port in use, already live)."""

    http_status = 409
    exit_code = 4
    code = "conflict"


class InvalidInputError(Nb2prodError):
    """Data does not fit what is expected (schema, dtypes, not a fitted model)."""

    http_status = 422
    exit_code = 5
    code = "invalid_input"


class NotebookError(InvalidInputError):
    """A notebook file is missing, unreadable or not a valid notebook."""

    code = "bad_notebook"
    exit_code = 6


class StoreError(Nb2prodError):
    """The audit store or registry cannot be opened or written."""

    http_status = 503
    exit_code = 7
    code = "store"


class OverloadedError(Nb2prodError):
    """A service sheds a request it cannot answer in time (queue too long); retry after ``retry_after_s``."""

    http_status = 503
    exit_code = 11
    code = "overloaded"

    def __init__(self, message: str, *, fix: str | None = None, retry_after_s: float = 1.0) -> None:
        super().__init__(message, fix=fix)
        self.retry_after_s = retry_after_s

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "retry_after_s": self.retry_after_s}


class GateRefusedError(Nb2prodError):
    """A validation, schema or shadow gate refused a version; the evidence is attached."""

    http_status = 409
    exit_code = 8
    code = "gate_refused"

    def __init__(self, message: str, *, fix: str | None = None, evidence: dict[str, object] | None = None) -> None:
        super().__init__(message, fix=fix)
        self.evidence = evidence or {}

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "evidence": self.evidence}


class ServiceError(Nb2prodError):
    """A local model service failed to build, start, answer or stop."""

    http_status = 502
    exit_code = 9
    code = "service"


class ExecutionError(Nb2prodError):
    """A notebook run failed inside the kernel."""

    http_status = 422
    exit_code = 10
    code = "execution"
    cell: int | None = None  # the code cell (1-based) that raised, when the kernel said
