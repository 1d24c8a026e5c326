"""The only module importing bentoml: save the BentoML model, build the Bento, serve, delete.

BentoML keeps its stores in process-wide singletons configured from ``BENTOML_HOME`` when it is
first imported, so every BentoML operation runs in a child process with ``BENTOML_HOME`` set to
the workspace's BentoML home. That also keeps a notebook kernel free of BentoML's import cost and
logging setup, and lets the build run while the fresh-process proof runs beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nb2prod.errors import ServiceError

__all__ = ["BuildJob", "bento_env", "bentoml_version", "delete_artifacts", "serve_command", "start_build"]


def bento_env(bentoml_home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a BentoML child process: this one, with BENTOML_HOME and no tracking."""
    env = dict(os.environ)
    env["BENTOML_HOME"] = str(bentoml_home)
    env["BENTOML_DO_NOT_TRACK"] = "True"
    env.setdefault("PYTHONUNBUFFERED", "1")
    if extra:
        env.update(extra)
    return env


def bentoml_version() -> str:
    from importlib.metadata import version

    return version("bentoml")


@dataclass
class BuildJob:
    """A running ``save model + build Bento`` child process; ``wait()`` returns the Bento tag."""

    process: subprocess.Popen[str]
    args_file: Path
    log_file: Path

    def wait(self, timeout_s: float = 300.0) -> dict[str, str]:
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise ServiceError(f"bentoml build did not finish in {timeout_s:.0f}s", fix=f"see {self.log_file}") from None
        finally:
            self.args_file.unlink(missing_ok=True)
        text = self.log_file.read_text(encoding="utf-8", errors="replace") if self.log_file.exists() else ""
        result = None
        for line in reversed(text.splitlines()):
            if line.startswith("NB2PROD_RESULT "):
                result = json.loads(line[len("NB2PROD_RESULT ") :])
                break
        if self.process.returncode != 0 or result is None:
            lines = [ln for ln in text.splitlines() if ln.strip()]
            last = lines[-1] if lines else f"exit code {self.process.returncode}"
            raise ServiceError(f"bentoml build failed: {last[:300]}", fix=f"see the build log {self.log_file}")
        return dict(result)

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.args_file.unlink(missing_ok=True)


def start_build(
    build_dir: Path,
    *,
    bentoml_home: Path,
    model_tag: str,
    model_files: Path,
    labels: Mapping[str, str],
    metadata: Mapping[str, Any],
    bento_version: str,
    log_file: Path,
) -> BuildJob:
    """Start a child process that saves ``model_files`` as BentoML model ``model_tag`` (with labels
    and metadata) and builds ``build_dir/bentofile.yaml`` into Bento version ``bento_version``."""
    args = {
        "build_dir": str(build_dir),
        "model_tag": model_tag,
        "model_files": str(model_files),
        "labels": {str(k): str(v) for k, v in labels.items()},
        "metadata": dict(metadata),
        "bento_version": bento_version,
    }
    handle, name = tempfile.mkstemp(prefix="nb2prod-build-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(args, out)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from nb2prod.adapters.bento import _build_main; _build_main()", name],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=bento_env(bentoml_home),
            cwd=str(build_dir),
            text=True,
        )
    return BuildJob(process=process, args_file=Path(name), log_file=log_file)


def _build_main() -> None:  # runs in the child process started by start_build
    args = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    import bentoml

    source = Path(args["model_files"])
    with bentoml.models.create(args["model_tag"], labels=args["labels"], metadata=args["metadata"]) as model:
        for item in source.iterdir():
            if item.is_dir():
                shutil.copytree(item, Path(model.path) / item.name, ignore=shutil.ignore_patterns("__pycache__"))
            elif item.is_file():
                shutil.copy2(item, Path(model.path) / item.name)
    build_dir = Path(args["build_dir"])
    stage = Path(tempfile.mkdtemp(prefix="nb2prod-build-"))
    try:
        bento = bentoml.bentos.build_bentofile(
            str(_stage_wheels(build_dir, stage)), build_ctx=str(build_dir), version=args["bento_version"]
        )
    finally:
        os.chdir(build_dir)
        shutil.rmtree(stage, ignore_errors=True)
    print("NB2PROD_RESULT " + json.dumps({"bento_tag": str(bento.tag), "model_tag": str(model.tag)}), flush=True)


def _stage_wheels(build_dir: Path, stage: Path) -> Path:
    """The bentofile to build from. BentoML takes a wheel only by a relative path that resolves inside
    the working folder with no hidden folder on it, and the default workspace (``~/.nb2prod``) is
    hidden: so the wheels are copied to ``stage``, which becomes the working folder."""
    import yaml

    bentofile = build_dir / "bentofile.yaml"
    config = yaml.safe_load(bentofile.read_text(encoding="utf-8"))
    wheels = (config.get("python") or {}).get("wheels") or []
    if not wheels:
        return bentofile
    staged = []
    for wheel in wheels:
        target = stage / Path(wheel).name
        shutil.copy2(build_dir / wheel, target)
        staged.append(os.path.relpath(target, build_dir))
    config["python"]["wheels"] = staged
    (stage / "bentofile.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    os.chdir(stage)
    return stage / "bentofile.yaml"


def delete_artifacts(bentoml_home: Path, *, bento_tag: str | None = None, model_tag: str | None = None) -> None:
    """Remove a Bento and/or a BentoML model (undoing a failed deploy); missing ones are fine."""
    if not bento_tag and not model_tag:
        return
    code = (
        "import sys, bentoml\n"
        "from bentoml.exceptions import NotFound\n"
        "for kind, tag in (('bento', sys.argv[1]), ('model', sys.argv[2])):\n"
        "    if not tag: continue\n"
        "    try:\n"
        "        (bentoml.bentos.delete if kind == 'bento' else bentoml.models.delete)(tag)\n"
        "    except NotFound:\n"
        "        pass\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, bento_tag or "", model_tag or ""],
        env=bento_env(bentoml_home),
        capture_output=True,
        timeout=120,
        check=False,
    )


def serve_command(target: str, *, host: str, port: int) -> list[str]:
    """The command that serves a built Bento (its tag) or a service (``service:Class``, run in its folder)."""
    return [sys.executable, "-m", "bentoml", "serve", target, "--host", host, "--port", str(port)]
