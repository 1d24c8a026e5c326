from __future__ import annotations

import hashlib
import json
from pathlib import Path

from lint_nbfactory import cell, findings, notebook, rules, write

from nb2prod.lint import data_manifest, manifest_path, record_manifest
from nb2prod.lint.rules.secrets import find_secrets


def _data_project(tmp_path: Path) -> Path:
    (tmp_path / "requirements.txt").write_text("pandas==2.3.3\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("a,b\n1,2\n")
    (tmp_path / "data" / "lookup.json").write_text("{}")
    nb = notebook(
        cell("DATA = 'data'\nimport json\nimport pandas as pd", tags=["parameters"]),
        "train = pd.read_csv(f'{DATA}/train.csv')\nwith open(DATA + '/lookup.json') as fh:\n    lookup = json.load(fh)",
        "train.to_csv('out/clean.csv')\nagain = pd.read_csv('out/clean.csv')",
    )
    return write(nb, tmp_path / "analysis.ipynb")


def test_manifest_lists_files_read_with_size_and_sha(tmp_path: Path) -> None:
    path = _data_project(tmp_path)
    files = data_manifest(path)
    assert [f.path for f in files] == ["data/train.csv", "data/lookup.json"]
    for f in files:  # the recorded digest is sha256 of the file's bytes as they are on disk
        data = (tmp_path / f.path).read_bytes()
        assert f.size == len(data) and f.sha256 == hashlib.sha256(data).hexdigest()
    assert files[0].size == 8


def test_unrecorded_then_recorded_then_changed(tmp_path: Path) -> None:
    path = _data_project(tmp_path)
    nb = json.loads(path.read_text())
    assert rules(nb, path=path, prefix="data") == ["data/unrecorded"]
    target, files = record_manifest(path)
    assert target == manifest_path(path) and len(files) == 2
    assert rules(nb, path=path, prefix="data") == []
    (tmp_path / "data" / "train.csv").write_text("a,b\n1,3\n")  # same size, new content
    (f,) = findings(nb, path=path, prefix="data")
    assert f.rule == "data/changed" and f.cell_index == 1 and "sha256" in f.message
    assert "1,3" not in (f.evidence or "")


def test_missing_file_is_an_error_unless_downloaded(tmp_path: Path) -> None:
    nb = notebook("import pandas as pd\ndf = pd.read_parquet('data/missing.parquet')")
    (f,) = findings(nb, path=tmp_path / "nb.ipynb", prefix="data")
    assert f.rule == "data/missing-file" and f.severity.value == "error" and f.line == 2
    nb = notebook("!wget -q https://example.org/x.parquet -O data/missing.parquet", "import pandas as pd\ndf = pd.read_parquet('data/missing.parquet')")
    (f,) = findings(nb, path=tmp_path / "nb.ipynb", prefix="data")
    assert f.severity.value == "warning"


def test_manifest_in_notebook_metadata_is_read(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1\n")
    nb = notebook("import pandas as pd\npd.read_csv('x.csv')")
    nb["metadata"]["nb2prod"] = {"data_manifest": [{"path": "x.csv", "size": 99, "sha256": "0" * 64}]}
    assert rules(nb, path=tmp_path / "nb.ipynb", prefix="data") == ["data/changed"]


SECRET_GH = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SECRET_AWS = "AKIA" + "ABCDEFGHIJKLMNOP"


def test_secrets_in_source_and_outputs_never_echoed() -> None:
    out = {"output_type": "stream", "name": "stdout", "text": f"token={SECRET_GH}\n"}
    nb = notebook(
        f"client = connect(key='{SECRET_AWS}')\npassword = 'hunter2-Xq9!zz'\nurl = 'postgresql://app:S3cr3tPw@db.internal/prod'",
        cell("print(token)", outputs=[out]),
    )
    got = findings(nb, prefix="secrets")
    assert [(f.rule, f.cell_index, f.line) for f in got] == [
        ("secrets/in-source", 0, 1),
        ("secrets/in-source", 0, 2),
        ("secrets/in-source", 0, 3),
        ("secrets/in-output", 1, None),
    ]
    text = json.dumps([f.to_dict() for f in got])
    assert SECRET_GH not in text and SECRET_AWS not in text and "hunter2" not in text and "S3cr3tPw" not in text


def test_secret_false_positive_traps() -> None:
    nb = notebook(
        "import os\npassword = os.environ['DB_PASSWORD']\ntoken = ''\napi_key = 'YOUR_API_KEY'\npassword_file = 'secrets/pw.txt'\n"
        "url = 'postgresql://user:password@localhost/db'\nsecret_name = 'prod-db'\nauth = None\ntoken_length = 'abcdefgh12345'"
    )
    assert rules(nb, prefix="secrets") == []
    assert find_secrets("nothing to see here sk-short") == []
