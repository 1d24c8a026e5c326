"""The spool lives outside the deployment folder: deleting the (BentoML) model never deletes un-replayed audit rows."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from runtime_folder import sample_rows

from nb2prod.runtime import GuardedRuntime
from nb2prod.runtime.audit_writer import replay_spool
from nb2prod.runtime.spool import encode_record, resolve_spool_dir
from nb2prod.store import Store


def test_the_default_spool_is_under_the_workspace_not_the_model(tmp_path: Path) -> None:
    folder = tmp_path / "bentoml" / "models" / "credit" / "v1"
    env = {"NB2PROD_HOME": str(tmp_path / "home")}
    spool = resolve_spool_dir(folder, "credit", "credit-v1", env=env)
    assert spool == tmp_path / "home" / "spool" / "credit" / "credit-v1"
    assert folder not in spool.parents
    assert resolve_spool_dir(folder, "credit", "credit-v1", env={**env, "NB2PROD_SPOOL_DIR": "/var/spool/x"}) == Path("/var/spool/x")


def test_rows_an_older_release_spooled_in_the_folder_move_out_and_are_replayed(hostile_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(hostile_folder, folder, ignore=shutil.ignore_patterns("spool", "*.log"))
    legacy = folder / "spool"
    legacy.mkdir()
    record = {"request_id": "legacy-1", "name": "credit", "version_id": "credit-v1", "ts": time.time(), "inputs": {"age": 30}}
    (legacy / "host-1-1.jsonl").write_bytes(encode_record(record))  # its writer is gone: nobody holds the lock
    env = {"NB2PROD_HOME": str(tmp_path / "home")}
    spool = resolve_spool_dir(folder, "credit", "credit-v1", env=env)
    assert [p.name for p in spool.glob("*.jsonl")] == ["host-1-1.jsonl"] and not list(legacy.glob("*.jsonl"))
    shutil.rmtree(folder)  # the model is deleted (bentoml models delete): the row is still on disk
    with Store.open(f"sqlite:///{tmp_path / 'audit.db'}") as store:
        assert replay_spool(spool, store) == 1 and store.audit.exists("legacy-1")


def test_a_loaded_runtime_spools_outside_its_folder(hostile_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NB2PROD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NB2PROD_SPOOL_DIR", raising=False)
    rt = GuardedRuntime.load(hostile_folder, store_url=f"sqlite:///{tmp_path / 'audit.db'}")
    try:
        rt.predict(sample_rows(hostile_folder)[:1])
        spool = Path(rt.writer.spool.folder)
        assert hostile_folder.resolve() not in spool.resolve().parents
        assert spool == tmp_path / "home" / "spool" / "credit" / "credit-v1" and os.listdir(spool)
    finally:
        rt.close()
