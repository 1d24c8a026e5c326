"""A credential that reached the model, the captured source or the sample rows refuses the deploy, naming where."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from nb2prod.errors import GateRefusedError
from nb2prod.package.secret_scan import refuse_secrets, scan_artifacts

# Built from pieces so that this file itself holds no token-shaped literal.
ANTHROPIC = "sk-" + "ant-" + "Zq8" * 10
GITHUB = "gh" + "p_" + "aB3dE6" * 6


class KeyedModel:
    """A model that kept the key it was trained with (read from the environment, then joined)."""

    def __init__(self, key: str) -> None:
        self.api_key = key
        self.coef_ = np.arange(4.0)


def _clean_copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("spool", "*.log", "__pycache__"))
    return target


def test_a_real_deployment_folder_has_no_false_positive(hostile_folder: Path) -> None:
    assert scan_artifacts(hostile_folder) == []
    refuse_secrets(hostile_folder)


def test_secrets_in_the_pickle_the_source_and_the_samples_are_found(hostile_folder: Path, tmp_path: Path) -> None:
    folder = _clean_copy(hostile_folder, tmp_path / "deploy")
    (folder / "model" / "model.pkl").write_bytes(pickle.dumps(KeyedModel(ANTHROPIC[:12] + ANTHROPIC[12:])))
    (folder / "model" / "vocabulary.pkl").write_bytes(pickle.dumps(np.array(["plain", GITHUB])))  # numpy: UTF-32
    (folder / "nb_captured.py").write_text(f'"""captured"""\n\nclient = make_client(\n    "{GITHUB}")\n')
    sample = json.loads((folder / "sample.json").read_text())
    sample["rows"][0]["note"] = "postgresql://svc:" + "Hx7" * 4 + "@db.internal/prod"
    (folder / "sample.json").write_text(json.dumps(sample))
    found = {(s.file, s.kind, s.where) for s in scan_artifacts(folder)}
    assert ("model/model.pkl", "Anthropic API key", "pickled bytes") in found
    assert ("model/vocabulary.pkl", "GitHub token", "wide-character string") in found
    assert ("nb_captured.py", "GitHub token", "line 4") in found
    assert any(f == "sample.json" and k == "password in a connection URL" for f, k, _ in found)
    with pytest.raises(GateRefusedError) as refused:
        refuse_secrets(folder)
    message = str(refused.value) + str(refused.value.fix) + json.dumps(refused.value.evidence)
    assert "model/model.pkl" in message and ANTHROPIC not in message and GITHUB not in message
