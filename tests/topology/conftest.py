"""The local topology's fixtures: nginx, the PostgreSQL store, three versions of the example credit model.

The versions are deployment folders built like tests/runtime's (the example model trained in a few
seconds, its generated service.py rendered, no Bento build): the replicas serve each folder's
service with `bentoml serve service:Class`, the same code a Bento packs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "runtime"))  # runtime_folder: the example deployment builder

ROLLOUT = {
    "traffic_poll_s": 0.2,
    "canary_check_s": 0.5,
    # a loaded 2-core CI box is slow: latency is not what these tests judge
    "policy": {"min_requests": 20, "canary_max_p99_ms": 60_000, "canary_max_divergence": 1.0},
}


@pytest.fixture(scope="module")
def nginx() -> str:
    """The nginx binary; skipped without one (under CI=true the gateway leg turns the skip into a failure)."""
    from nb2prod.errors import NotFoundError
    from nb2prod.package.topology import find_nginx

    try:
        return find_nginx()
    except NotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def pg_store_url() -> str:
    url = os.environ.get("NB2PROD_TEST_PG_URL")
    if not url:
        pytest.skip("NB2PROD_TEST_PG_URL not set (./dev test starts a PostgreSQL server and sets it)")
    return url


def _patch(folder: Path, **changes: Any) -> None:
    spec = json.loads((folder / "deployment.json").read_text())
    spec.update(changes)
    (folder / "deployment.json").write_text(json.dumps(spec))


@pytest.fixture(scope="module")
def credit_versions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A unique deployment name (the PostgreSQL database is shared) and three versions: live, canary (its own FAULT switch), shadow."""
    from runtime_folder import build_deployment, render_service

    name = f"topo{secrets.token_hex(3)}"
    root = tmp_path_factory.mktemp("topology") / "deployments"
    ids = {arm: f"{name}-v{i}" for i, arm in enumerate(("live", "canary", "shadow"), start=1)}
    live = build_deployment(root, name=name, version_id=ids["live"], fault_injection=True, timeout_ms=5000)
    canary = build_deployment(root, name=name, version_id=ids["canary"], fault_injection=True, timeout_ms=5000, max_iter=40)
    shadow = root / name / ids["shadow"]
    shutil.copytree(live, shadow)  # the live model under another version id: the comparison must agree on every row
    _patch(shadow, version_id=ids["shadow"])
    folders = {"live": live, "canary": canary, "shadow": shadow}
    for folder in folders.values():
        _patch(folder, rollout=ROLLOUT)
        render_service(folder, service_class="TopoService")
    return {"name": name, "ids": ids, "folders": folders}
