"""The end-to-end demo behind the README's main command, on embedded defaults.

It grows as features land; each step prints what it did and where its outputs are.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from nb2prod.api import Workspace

__all__ = ["example_notebook", "run_demo"]


def example_notebook() -> Path:
    """The example notebook: from a source checkout, else the copy shipped in the package."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "example_notebooks" / "credit_default.ipynb", here.parent / "examples" / "credit_default.ipynb"):
        if candidate.exists():
            return candidate
    from nb2prod.errors import NotFoundError

    raise NotFoundError("the example notebook is missing from this install", fix="run the demo from a source checkout")


def run_demo(workspace: Workspace, *, say: Callable[[str], None] = print, n_samples: int = 20_000) -> dict[str, object]:
    """Run the whole story on ``workspace`` and return where everything went."""
    started = time.perf_counter()
    notebook = example_notebook()
    say(f"[1/1] training: running {notebook.name} with papermill (n_samples={n_samples}) …")
    run = workspace.run_notebook(notebook, {"n_samples": n_samples, "seed": 42}, progress=False)
    workdir = Path(run.output).parent
    metrics = json.loads((workdir / "outputs" / "metrics.json").read_text())
    say(f"      run {run.run_id} succeeded in {run.duration_s:.1f}s: ROC AUC {metrics['roc_auc']}, accuracy {metrics['accuracy']}")
    say(f"      executed notebook: {run.output}")
    say(f"      outputs:           {workdir / 'outputs'}")
    say(f"      store:             {workspace.store.url}")
    summary = {"run": run.to_dict(), "metrics": metrics, "seconds": round(time.perf_counter() - started, 1)}
    say(f"demo finished in {summary['seconds']}s")
    return summary
