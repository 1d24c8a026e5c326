"""The README's Quickstart, executed verbatim: every shell line of its block runs as written, in order.

Two lines are not run, named below with why: ``./dev demo`` (it reinstalls the environment and
replays the whole story; the demo has its own tests) and ``jupyter lab`` (an interactive server;
the browser tests start JupyterLab). Every other line — lint, deploy with ``--serve --port``, the
``curl`` to the printed port, ``monitor`` and ``stop`` — runs in a temporary folder holding a copy of
the example notebooks and the project's virtualenv, so ``$PWD/.nb2prod/try`` is a fresh home.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = {
    "./dev demo": "reinstalls the environment and replays the whole demo (tested on its own)",
    "jupyter lab example_notebooks/": "an interactive server (the browser tests start JupyterLab)",
}
MARK = "@@quickstart-step@@"


def quickstart_commands(readme: str) -> list[str]:
    """The shell commands of the Quickstart's first ```bash block, continuation lines joined."""
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the Quickstart has no ```bash block"
    commands: list[str] = []
    pending = ""
    for line in block.group(1).splitlines():
        pending = f"{pending}\n{line}" if pending else line
        if line.rstrip().endswith("\\") or pending.count("'") % 2:  # a continuation or an open quote
            continue
        if pending.strip():
            commands.append(pending)
        pending = ""
    return commands


def _runs(command: str) -> bool:
    return not any(command.strip().startswith(prefix) for prefix in NOT_RUN)


def test_quickstart_block_is_what_this_test_runs() -> None:
    commands = quickstart_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    skipped = [c.split("#")[0].strip() for c in commands if not _runs(c)]
    assert skipped == list(NOT_RUN), skipped
    ran = [c for c in commands if _runs(c)]
    assert any(c.startswith("nb2prod deploy") for c in ran) and any(c.startswith("curl") for c in ran)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.slow
def test_readme_quickstart_runs_verbatim(tmp_path: Path) -> None:
    commands = [c for c in quickstart_commands((ROOT / "README.md").read_text(encoding="utf-8")) if _runs(c)]
    port = int(re.search(r"--port (\d+)", "\n".join(commands)).group(1))  # type: ignore[union-attr]
    if not _port_free(port):
        pytest.skip(f"port {port} (the README's) is taken on this machine by another process")
    shutil.copytree(ROOT / "example_notebooks", tmp_path / "example_notebooks")
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    # each step's output starts after a marker on its own line (curl prints no final newline)
    script = "set -e\n" + "".join(f"printf '\\n{MARK} {i}\\n'\n{c}\n" for i, c in enumerate(commands))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NB2PROD_", "VIRTUAL_ENV"))}
    env.update(BENTOML_HOME=str(tmp_path / "bentoml"), BENTOML_DO_NOT_TRACK="True")
    home = tmp_path / ".nb2prod" / "try"
    try:
        done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    finally:  # never leave the service running, whatever failed
        subprocess.run([str(ROOT / ".venv" / "bin" / "nb2prod"), "stop"], cwd=tmp_path, env={**env, "NB2PROD_HOME": str(home)},
                       capture_output=True, timeout=60)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    outputs = dict(re.findall(rf"{MARK} (\d+)\n(.*?)(?=\n{MARK} |\Z)", done.stdout, re.S))
    by_start = {" ".join(commands[int(i)].split()[:2]): text.strip() for i, text in outputs.items()}
    answer = json.loads(by_start["curl -s"])
    assert answer["prediction"] in (0, 1) and 0.0 <= answer["score"] <= 1.0, answer
    assert "deployed credit" in by_start["nb2prod deploy"] and f":{port}" in by_start["nb2prod deploy"]
    assert "credit" in by_start["nb2prod monitor"]
    assert (home / "audit.db").exists() or any(home.iterdir())
    assert _port_free(port), "nb2prod stop must stop the service the Quickstart started"
