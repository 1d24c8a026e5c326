from __future__ import annotations

import json
from pathlib import Path

import pytest
from lint_nbfactory import cell, notebook, write

from nb2prod.lint import lint_notebook
from nb2prod.lint.compare import normalise_text, same_outputs

pytestmark = pytest.mark.slow


def test_output_comparison_is_semantic() -> None:
    a = [
        {"output_type": "stream", "name": "stdout", "text": "<Model at 0x7f3a2b1c9d90> 2024-01-02 10:11:12 took 3.2s\nauc 0.81234\n"},
        {"output_type": "stream", "name": "stderr", "text": "FutureWarning: something\n"},
    ]
    b = [{"output_type": "stream", "name": "stdout", "text": "<Model at 0x7f00000000ff> 2026-11-23 17:00:01 took 9.1s\nauc 0.81235\n"}]
    assert same_outputs(a, b)[0]
    c = [{"output_type": "stream", "name": "stdout", "text": "<Model at 0x7f00000000ff> 2026-11-23 17:00:01 took 9.1s\nauc 0.9\n"}]
    same, diff = same_outputs(a, c)
    assert not same and "auc" in (diff or "")
    rows = [{"output_type": "stream", "name": "stdout", "text": "rows: 1000000 auc 0.81234\n"}]
    more = [{"output_type": "stream", "name": "stdout", "text": "rows: 1000050 auc 0.81234\n"}]
    assert not same_outputs(rows, more)[0]  # integers are compared exactly: no rounding noise to forgive
    assert normalise_text(" 50%|█████     | 5/10 [00:01<00:01]\rdone") == "done"


def test_headless_kernels_talk_over_unix_sockets_in_the_temp_folder() -> None:
    import sys
    import tempfile

    from nb2prod.adapters.kernel import kernel_manager_class

    if sys.platform == "win32":
        pytest.skip("Windows kernels use TCP")
    km = kernel_manager_class()(kernel_name="python3")
    assert km.transport == "ipc" and km.ip.startswith(tempfile.gettempdir())



def test_headless_kernels_are_shut_down_without_an_interrupt() -> None:
    """jupyter_client sends SIGINT before every shutdown: ipykernel then logged 'KeyboardInterrupt caught in kernel.'."""
    import asyncio
    import signal
    import sys

    from nb2prod.adapters.kernel import kernel_manager_class

    if sys.platform == "win32":
        pytest.skip("Windows kernels use TCP and the default manager")

    async def lifecycle() -> list[int]:
        km = kernel_manager_class()(kernel_name="python3")
        await km.start_kernel()
        sent: list[int] = []
        send = km.provisioner.send_signal

        async def recording(signum: int) -> None:
            sent.append(signum)
            await send(signum)

        km.provisioner.send_signal = recording
        client = km.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=120)
            await km.interrupt_kernel()  # an explicit interrupt (a cell timeout) still reaches the kernel
        finally:
            client.stop_channels()
            await km.shutdown_kernel()
        return sent

    assert asyncio.run(lifecycle()) == [signal.SIGINT]

def test_rerun_ties_failures_to_static_findings(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    nb = notebook(
        cell("import numpy as np\nimport uuid", count=1),
        cell("print(total)", count=5, outputs=[{"output_type": "stream", "name": "stdout", "text": "3\n"}]),
        cell("total = 1 + 2", count=4),
        cell("print(np.random.rand())", count=6, outputs=[{"output_type": "stream", "name": "stdout", "text": "0.5\n"}]),
        cell("print(uuid.uuid4())", count=7),
        cell("print(total * 2)", count=8, outputs=[{"output_type": "stream", "name": "stdout", "text": "7\n"}]),
    )
    path = write(nb, tmp_path / "state.ipynb")
    report = lint_notebook(path, run=True, timeout_s=120)
    assert report.executed
    by_rule = {(f.rule, f.cell_index): f for f in report.findings}
    error = by_rule[("rerun/error", 1)]
    assert "NameError" in error.message and "hidden-state/use-before-define (cell 1" in (error.evidence or "")
    assert "confirmed by --run" in (by_rule[("hidden-state/use-before-define", 1)].evidence or "")
    assert "seedable randomness" in by_rule[("rerun/nondeterministic", 3)].message
    assert "real nondeterminism" in by_rule[("rerun/nondeterministic", 4)].message
    assert ("rerun/changed-output", 5) in by_rule  # saved 7, fresh run prints 6
    assert "without encryption" not in capfd.readouterr().err  # the kernels' own warning stays out of the user's output


def test_example_notebook_reproduces_in_fresh_kernels(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "example_notebooks" / "credit_default.ipynb"
    nb = json.loads(example.read_text())
    params = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    source = "".join(params["source"]).replace("n_samples = 20_000", "n_samples = 2_000")
    assert "n_samples = 2_000" in source
    params["source"] = source
    path = tmp_path / "credit_default.ipynb"
    path.write_text(json.dumps(nb))
    report = lint_notebook(path, run=True, timeout_s=300, runs=1)  # one kernel run: the notebook is slow on a busy machine
    assert [f for f in report.findings if f.severity.value == "error"] == []
    assert [f.rule for f in report.findings if f.rule.startswith("rerun/")] == ["rerun/reproduced"]
