from __future__ import annotations

from pathlib import Path

from lint_nbfactory import findings, notebook, rules

from nb2prod.lint.rules.portability import absolute_path_kind, mutable_url


def test_absolute_paths_in_every_os_style_existing_or_not() -> None:
    nb = notebook(
        "import pandas as pd\n"
        "a = pd.read_csv('/home/alice/data/train.csv')\n"
        "b = open(r'C:\\\\Users\\\\bob\\\\data.xlsx')\n"
        "c = r'\\\\fileserver\\share\\x.csv'\n"
        "d = '/definitely/not/here/file.parquet'\n"
    )
    got = [(f.rule, f.line) for f in findings(nb, prefix="portability")]
    assert got == [("portability/absolute-path", 2), ("portability/absolute-path", 3), ("portability/absolute-path", 4), ("portability/absolute-path", 5)]


def test_not_paths_are_not_flagged() -> None:
    nb = notebook("s = '/'\nt = 'a/b'\nr = '/api/v1'\nratio = '1/2'\nregex = r'^/\\\\d+$'\nurl = 'https://example.com/x.csv'\nx = 10 / 2")
    assert rules(nb, prefix="portability") == []


def test_home_relative_paths() -> None:
    nb = notebook("import os\nfrom pathlib import Path\np = os.path.expanduser('~/data/x.csv')\nq = Path.home() / 'x'")
    assert rules(nb, prefix="portability") == ["portability/home-path", "portability/home-path"]


def test_case_mismatch_against_disk(tmp_path: Path) -> None:
    (tmp_path / "Data").mkdir()
    (tmp_path / "Data" / "Train.CSV").write_text("a\n1\n")
    nb = notebook("import pandas as pd\ndf = pd.read_csv('data/train.csv')\nok = pd.read_csv('Data/Train.CSV')")
    (f,) = findings(nb, path=tmp_path / "nb.ipynb", prefix="portability")
    assert f.rule == "portability/path-case" and "Data/Train.CSV" in f.message and f.line == 2


def test_mutable_urls() -> None:
    assert mutable_url("https://raw.githubusercontent.com/org/repo/main/data.csv") == "main"
    assert mutable_url("https://raw.githubusercontent.com/org/repo/3f2a9c1d4b5e6f708192a3b4c5d6e7f8091a2b3c/data.csv") is None
    assert mutable_url("https://github.com/org/repo/raw/v1.2.0/data.csv") is None
    assert mutable_url("https://huggingface.co/datasets/x/y/resolve/main/train.parquet") == "main"
    nb = notebook("import pandas as pd\ndf = pd.read_csv('https://raw.githubusercontent.com/org/repo/master/data.csv')")
    (f,) = findings(nb, prefix="portability")
    assert f.rule == "portability/mutable-url" and "master" in f.message


def test_absolute_path_kinds() -> None:
    assert absolute_path_kind("D:/data/x.csv", in_path_call=False) == "windows"
    assert absolute_path_kind("/tmp/x", in_path_call=True) == "posix"
    assert absolute_path_kind("/x", in_path_call=False) is None
    nb = notebook("%cd /home/alice/project")
    assert rules(nb, prefix="portability") == ["portability/absolute-path"]
