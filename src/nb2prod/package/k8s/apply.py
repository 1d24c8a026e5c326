"""``kubectl apply`` of a deployment's manifests folder, when kubectl and a current context exist.

Otherwise nothing runs and the caller gets one line saying where the files are and the command
to apply them (GitOps users commit the folder instead). Versions no longer routed are pruned by
the ``nb2prod/deployment`` label, limited to the kinds nb2prod renders per version and route —
never the retraining PVC.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PRUNE_KINDS", "Applied", "apply_command", "kubectl_apply"]

PRUNE_KINDS = (
    "apps/v1/Deployment",
    "core/v1/Service",
    "autoscaling/v2/HorizontalPodAutoscaler",
    "gateway.networking.k8s.io/v1/HTTPRoute",
)

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True, slots=True)
class Applied:
    applied: bool
    message: str  # one line (plus kubectl's own output when it ran)


def apply_command(folder: Path, name: str, namespace: str | None = None) -> list[str]:
    """``kubectl apply -f FOLDER --prune -l nb2prod/deployment=NAME`` with the prune allowlist."""
    command = ["kubectl", "apply", "-f", str(folder), "--prune", "-l", f"nb2prod/deployment={name}"]
    for kind in PRUNE_KINDS:
        command += ["--prune-allowlist", kind]
    if namespace:
        command += ["-n", namespace]
    return command


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=120, check=False)


def kubectl_apply(folder: Path, name: str, *, namespace: str | None = None, which: Callable[[str], str | None] = shutil.which,
                  run: Runner = _run) -> Applied:
    """Apply ``folder`` with kubectl if it is installed and has a current context; else say how to."""
    from nb2prod.errors import ExecutionError

    command = apply_command(folder, name, namespace)
    shown = " ".join(command)
    if which("kubectl") is None:
        return Applied(False, f"kubectl is not installed: wrote the manifests to {folder}; apply them with: {shown}")
    context = run(["kubectl", "config", "current-context"])
    if context.returncode != 0 or not context.stdout.strip():
        return Applied(False, f"kubectl has no current context: wrote the manifests to {folder}; apply them with: {shown}")
    done = run(command)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()
        raise ExecutionError(
            f"kubectl apply failed in context {context.stdout.strip()!r}: {last[-1] if last else 'no output'}",
            fix=f"fix the cluster side and re-run: {shown}",
        )
    return Applied(True, f"applied {folder} to context {context.stdout.strip()!r}\n{done.stdout.strip()}")
