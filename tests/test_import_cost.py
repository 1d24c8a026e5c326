"""``import nb2prod`` stays cheap: no heavy library is loaded until a feature needs it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["bentoml", "evidently", "papermill", "jupyter_server", "ipywidgets", "sklearn", "pandas", "sqlalchemy", "shap", "river", "IPython"]


def test_import_nb2prod_loads_no_heavy_library() -> None:
    code = (
        "import sys, json, nb2prod; nb2prod.__version__; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_cli_help_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, json\n"
        "from nb2prod.cli import main\n"
        "main(['--help'])\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
