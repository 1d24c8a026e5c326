"""Browser tests: JupyterLab with the nb2prod extension, driven by Playwright in Debian's Chromium.

Skipped when /usr/bin/chromium, Playwright or the built extension is missing. Never downloads a browser.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lab_seed import seed_lab_workspace

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _extension_installed() -> bool:
    from jupyter_core.paths import jupyter_path

    return any((Path(p) / "nb2prod" / "package.json").is_file() for p in jupyter_path("labextensions"))


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if not _extension_installed():
        return "the nb2prod labextension is not built (pip install -e . builds it)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    """A running JupyterLab and the workspace it shows."""

    url: str
    token: str
    root: Path
    home: Path
    seeded: dict[str, Any]
    log: Path

    def lab_url(self, path: str = "lab") -> str:
        return f"{self.url}/{path}?token={self.token}&reset"


def _write_settings(folder: Path) -> None:
    overrides = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
        "nb2prod/plugin.jupyterlab-settings": {"driftRefreshSeconds": 3},
    }
    for name, values in overrides.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(values))


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("lab")
    root, home, settings, workspaces = (base / n for n in ("root", "home", "settings", "workspaces"))
    for folder in (root, home, settings, workspaces):
        folder.mkdir()
    _write_settings(settings)
    env_vars = {"NB2PROD_HOME": str(home), "BENTOML_HOME": str(home / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env_vars.items():
            mp.setenv(key, value)
        mp.delenv("NB2PROD_STORE_URL", raising=False)
        seeded = seed_lab_workspace(root, home)
    port, token = _free_port(), secrets.token_hex(16)
    log = base / "lab.log"
    env = {**os.environ, **env_vars}
    env.pop("NB2PROD_STORE_URL", None)
    cmd = [
        str(Path(sys.executable).with_name("jupyter-lab")), "--allow-root", "--no-browser", "--ServerApp.ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0", f"--ServerApp.token={token}", "--LabApp.expose_app_in_browser=True",
        f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={workspaces}",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, f"jupyter lab exited: {log.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"jupyter lab did not start in 90 s: {log.read_text()[-3000:]}"
            time.sleep(0.5)
        yield Lab(url=url, token=token, root=root, home=home, seeded=seeded, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(lab: Lab) -> Iterator[Any]:
    """Module-scoped: Playwright's sync API keeps an asyncio loop running in this thread while it is open,
    which would break every later test that needs its own loop (pytest-jupyter's server tests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, lab: Lab) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1500, "height": 950})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()

