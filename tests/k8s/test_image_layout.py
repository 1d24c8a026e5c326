"""Every path and environment variable the rendered containers use exists in the image the version's Bento defines.

A real deploy builds a Bento; its ``env/docker/Dockerfile`` (what ``bentoml containerize`` builds),
``entrypoint.sh``, ``bento.yaml`` and ``env/python/requirements.txt`` describe the image. The
manifests rendered for that version must agree with them: image tag, port, user, entrypoint
arguments, the model's place, the variables the code in the image reads, the mounted paths.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nb2prod.api import Workspace
from nb2prod.models import VersionRecord

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, VersionRecord, Path]]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    home = tmp_path_factory.mktemp("k8s-image") / ".nb2prod"
    home.mkdir()
    saved = {k: os.environ.get(k) for k in ("BENTOML_HOME", "BENTOML_DO_NOT_TRACK")}
    os.environ.update({"BENTOML_HOME": str(home / "bentoml"), "BENTOML_DO_NOT_TRACK": "True"})
    ws = Workspace.open(home)
    try:
        rng = np.random.default_rng(0)
        x = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
        y = (x["a"] + x["b"] > 0).astype(int)
        result = ws.deploy(LogisticRegression().fit(x, y), data=x, target=y, name="layout")
        record = ws.store.registry.get(result.version_id)
        assert record.bento_tag is not None
        name, version = record.bento_tag.split(":")
        yield ws, record, home / "bentoml" / "bentos" / name / version
    finally:
        ws.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _dockerfile(bento: Path) -> dict[str, Any]:
    """ENV/ARG values, EXPOSEd ports, USER and ENTRYPOINT of the Bento's Dockerfile."""
    env: dict[str, str] = {}
    exposed: set[int] = set()
    user = entrypoint = None
    for line in (bento / "env" / "docker" / "Dockerfile").read_text().splitlines():
        if m := re.match(r"^(?:ENV|ARG) (\w+)=(.*)$", line):
            value = m.group(2).strip('"')
            env[m.group(1)] = re.sub(r"\$\{?(\w+)\}?", lambda v: env.get(v.group(1), v.group(0)), value)
        elif m := re.match(r"^EXPOSE (\d+)", line):
            exposed.add(int(m.group(1)))
        elif m := re.match(r"^USER (\S+)", line):
            user = m.group(1)
        elif m := re.match(r"^ENTRYPOINT \[ *\"([^\"]+)\"", line):
            entrypoint = m.group(1)
    return {"env": env, "exposed": exposed, "user": user, "entrypoint": entrypoint}


def _reads(variable: str, sources: list[Path]) -> bool:
    return any(variable in path.read_text(encoding="utf-8", errors="replace") for path in sources)


def _code_in_image(bento: Path) -> dict[str, list[Path]]:
    """Source files of what the image runs: the Bento's src/ and the installed packages its requirements name."""
    import bentoml

    import nb2prod

    requirements = (bento / "env" / "python" / "requirements.txt").read_text()
    assert re.search(r"^nb2prod==", requirements, re.M), "nb2prod is not installed in the image"
    assert re.search(r"^bentoml==", requirements, re.M)
    return {
        "service": list((bento / "src").rglob("*.py")),
        "nb2prod": list(Path(nb2prod.__file__).parent.rglob("*.py")),
        "bentoml": list(Path(bentoml.__file__).parent.rglob("*.py")),
    }


def _manifests(ws: Workspace, record: VersionRecord) -> dict[str, list[dict[str, Any]]]:
    result = ws.k8s(record.name)
    kinds: dict[str, list[dict[str, Any]]] = {}
    for path in result.files:
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                kinds.setdefault(doc["kind"], []).append(doc)
    return kinds


def test_the_service_container_matches_the_bento_image(built: tuple[Workspace, VersionRecord, Path]) -> None:
    ws, record, bento = built
    image = _dockerfile(bento)
    kinds = _manifests(ws, record)
    [deployment] = kinds["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == record.bento_tag  # `bentoml containerize TAG` tags the image TAG
    assert {p["containerPort"] for p in container["ports"]} <= image["exposed"]
    assert image["user"] == "bentoml" and pod["securityContext"]["fsGroup"] == int(image["env"]["BENTO_USER_UID"])
    # args ["serve"]: the entrypoint serves $BENTO_PATH
    entrypoint = (bento / "env" / "docker" / "entrypoint.sh").read_text()
    assert container["args"] == ["serve"] and 'exec bentoml "$@" "$BENTO_PATH"' in entrypoint
    assert image["entrypoint"] == f"{image['env']['BENTO_PATH']}/env/docker/entrypoint.sh"

    # the model: the Bento references the version's BentoML model; in the image it sits under $BENTO_PATH/models
    # (BentoML serves from the Bento's own model store in a container) and holds the deployment folder the service reads
    info = yaml.safe_load((bento / "bento.yaml").read_text())
    assert info["service"] == "service:LayoutService" and (bento / "src" / "service.py").is_file()
    tags = [m["tag"] for s in info.get("services", []) for m in s.get("models", [])] + [m["tag"] for m in info.get("models", [])]
    assert record.model_tag in tags
    model_name, model_version = str(record.model_tag).split(":")
    model_dir = ws.settings.resolved_bentoml_home / "models" / model_name / model_version
    for needed in ("deployment.json", "sample.json", "model"):
        assert (model_dir / needed).exists(), f"{needed} is not in the model the image carries"
    assert f'MODEL_TAG = "{record.model_tag}"' in (bento / "src" / "service.py").read_text()

    # every variable set is read by code in the image; the Bento's own value agrees; nothing points at a host folder
    code = _code_in_image(bento)
    env = {e["name"]: e for e in container["env"]}
    assert "NB2PROD_DEPLOYMENT_DIR" not in env  # would send the service to a folder that exists only on the laptop
    for variable in env:
        owner = "bentoml" if variable.startswith("BENTOML_") else "nb2prod"
        assert _reads(variable, code["service"] + code[owner]), f"{variable} is set but nothing in the image reads it"
    assert image["env"]["NB2PROD_VERSION_ID"] == record.version_id  # the image says which version it is (bentofile envs)

    # mounted paths: the spool is where the service spools, and no mount hides the Bento or the virtualenv
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["NB2PROD_SPOOL_DIR"]["value"] == mounts["audit-spool"]
    assert {v["name"] for v in pod["volumes"]} == set(mounts)
    for path in mounts.values():
        assert not image["env"]["BENTO_PATH"].startswith(path) and not path.startswith((image["env"]["BENTO_PATH"], "/app"))


def test_the_retraining_job_runs_nb2prod_from_the_image_and_writes_to_its_volume(built: tuple[Workspace, VersionRecord, Path]) -> None:
    ws, record, bento = built
    image = _dockerfile(bento)
    [cron] = _manifests(ws, record)["CronJob"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == record.bento_tag
    # not "serve": the entrypoint runs the command as given, with the image's virtualenv (nb2prod installed) on PATH
    entrypoint = (bento / "env" / "docker" / "entrypoint.sh").read_text()
    assert container["args"][0] == "nb2prod" and 'exec "$@"' in entrypoint and "/app/.venv/bin" in image["env"]["PATH"]
    code = _code_in_image(bento)
    env = {e["name"]: e for e in container["env"]}
    for variable in env:
        owner = "bentoml" if variable.startswith("BENTOML_") else "nb2prod"
        assert _reads(variable, code[owner]), f"{variable} is set but nothing in the image reads it"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["NB2PROD_HOME"]["value"].startswith(mounts["work"] + "/")
    assert pod["securityContext"]["fsGroup"] == int(image["env"]["BENTO_USER_UID"])  # the bentoml user can write the PVC
    for path in mounts.values():
        assert not path.startswith((image["env"]["BENTO_PATH"], "/app"))
