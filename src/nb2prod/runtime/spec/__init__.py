"""The runtime's view of ``deployment.json``: a typed, validated deployment spec.

Every knob the guarded runtime honours is read here, once, with a clear error naming the field
when the file is missing or malformed (see docs/design.md, "Deployment folder contract").
One module per part of the file it owns: ``task`` (task, classes, score, interval), ``features``
(columns and their guardrails), ``deployment`` (the whole file, read and written), ``fields``
(the one error shape for a bad field).
"""

from __future__ import annotations

from nb2prod.runtime.spec.deployment import EXPLAIN_METHODS, STRATEGIES, DeploymentSpec, load_spec, write_spec
from nb2prod.runtime.spec.features import DTYPES, GUARD_POLICIES, GUARD_REJECTS, FeatureSpec, GuardSpec
from nb2prod.runtime.spec.task import SCORE_METHODS, TASKS, IntervalSpec, Task, TaskSpec

__all__ = [
    "DTYPES",
    "EXPLAIN_METHODS",
    "GUARD_POLICIES",
    "GUARD_REJECTS",
    "SCORE_METHODS",
    "STRATEGIES",
    "TASKS",
    "DeploymentSpec",
    "FeatureSpec",
    "GuardSpec",
    "IntervalSpec",
    "Task",
    "TaskSpec",
    "load_spec",
    "write_spec",
]
