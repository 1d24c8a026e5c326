"""What deploy, serve and rebuild produce."""

from __future__ import annotations

import dataclasses
from typing import Any

from nb2prod.models.record import Record

__all__ = ["DeployResult", "RebuildResult", "ServeInfo"]


@dataclasses.dataclass(frozen=True, slots=True)
class ServeInfo(Record):
    """A local service started by ``serve``: where it answers and which process runs it."""

    name: str
    version_id: str
    url: str
    port: int
    pid: int
    bento_tag: str | None = None
    started_at: float = 0.0
    log: str | None = None
    running: bool = True
    auth: str | None = None  # how a client sends the service token to the protected routes (never the token)

@dataclasses.dataclass(frozen=True, slots=True)
class DeployResult(Record):
    """What ``deploy`` produced: the version, its evidence (metrics, gate, proof), and the URL if served."""

    name: str
    version_id: str
    deployment_dir: str
    bento_tag: str | None
    model_tag: str | None
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    gate: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    proof: dict[str, Any] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)
    lint: dict[str, Any] = dataclasses.field(default_factory=dict)
    parent: str | None = None
    schema_changes: list[str] = dataclasses.field(default_factory=list)
    captured: list[str] = dataclasses.field(default_factory=list)
    url: str | None = None
    duration_s: float = 0.0
    # Set when the version was deployed as a shadow: it then replaces nothing and has no URL of
    # its own, since it sees a share of the live version's requests.
    shadow_percent: float | None = None
    auth: str | None = None  # how to send the service token (served deploys); never the token itself

    def summary(self) -> str:
        """A few plain-text lines for a terminal or notebook."""
        metrics = ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in self.metrics.items()) or "no holdout"
        lines = [
            f"deployed {self.version_id} in {self.duration_s:.1f}s" + (f" → {self.url}" if self.url else "")
            # a shadow answers nobody: say so, or the headline reads as if it had replaced the live version
            + (f" as a shadow of {self.parent or 'the live version'} ({self.shadow_percent:g}% of its requests)"
               if self.shadow_percent is not None else ""),
            f"  metrics: {metrics}",
            f"  proof:   {self.proof.get('rows', 0)} sample rows match in a fresh process"
            + (f" (max |Δscore| {self.proof['max_abs_diff']:.1e})" if self.proof.get("max_abs_diff") is not None else ""),
            f"  bento:   {self.bento_tag}   folder: {self.deployment_dir}",
        ]
        if self.url and self.auth:
            lines.append(f"  token:   {self.auth}")
        if self.captured:
            lines.append(f"  captured notebook code: {', '.join(self.captured)}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


@dataclasses.dataclass(frozen=True, slots=True)
class RebuildResult(Record):
    """``rebuild``: the recorded notebook re-run with its parameters, compared with the stored model."""

    version_id: str
    run_id: str | None
    output_notebook: str | None
    matches: bool
    rows: int
    mismatched: int
    max_abs_diff: float | None
    model_hash_equal: bool
    differences: list[str] = dataclasses.field(default_factory=list)
    likely_causes: list[str] = dataclasses.field(default_factory=list)
    duration_s: float = 0.0
