"""templates/service.py.j2 renders to valid Python with the context %deploy passes (with or without a model tag)."""

from __future__ import annotations

import ast
from pathlib import Path

import jinja2
import pytest

import nb2prod.runtime as runtime

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize("trim", [True, False])
@pytest.mark.parametrize("model_tag", [None, "credit:abc123"])
def test_service_template_renders_valid_python(trim: bool, model_tag: str | None) -> None:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=trim,
        lstrip_blocks=trim,
        keep_trailing_newline=True,
    )
    context = {"name": "Credit-Default", "version_id": "credit-v1", "service_class": "CreditDefaultService",
               "deployment_dir": Path("/srv/it's here")}  # fmt: skip
    if model_tag:
        context["model_tag"] = model_tag
    source = env.get_template("service.py.j2").render(**context)
    tree = ast.parse(source)
    [service] = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    assert service.name == "CreditDefaultService"
    methods = {n.name for n in service.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    assert {"predict", "predict_batch", "feedback", "override", "__is_ready__", "__is_alive__"} <= methods
    assert ('model_ref = bentoml.models.BentoModel(MODEL_TAG)' in source) == bool(model_tag)
    assert 'name="credit-default"' in source and "DEPLOYMENT_DIR = \"/srv/it\\u0027s here\"" in source
    imported = {a.name for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == "nb2prod.runtime" for a in n.names}
    assert imported <= set(runtime.__all__)
