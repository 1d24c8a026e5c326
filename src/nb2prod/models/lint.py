"""Lint results: one finding per rule hit, grouped per notebook."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Self

from nb2prod.models.record import Record

__all__ = ["Finding", "LintReport", "Severity"]


class Severity(enum.StrEnum):
    """Lint severities, ordered: ``error`` > ``warning`` > ``info``."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]

@dataclasses.dataclass(frozen=True, slots=True)
class Finding(Record):
    """One lint finding, located in a notebook cell."""

    rule: str
    severity: Severity
    message: str
    path: str = ""
    cell_index: int | None = None
    cell_id: str | None = None
    line: int | None = None
    fix: str | None = None
    evidence: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return super(Finding, cls).from_dict({**data, "severity": Severity(data["severity"])})

@dataclasses.dataclass(frozen=True, slots=True)
class LintReport(Record):
    """All findings for one notebook."""

    path: str
    findings: tuple[Finding, ...] = ()
    executed: bool = False

    @property
    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)
