"""Render the service, build config, ``.bentoignore`` and Kubernetes manifests from ``templates/``.

Templates are found in the installed package (``nb2prod/templates``, force-included in the
wheel) or, from a source checkout, in the repository's ``templates/`` folder.
"""

from __future__ import annotations

import functools
import json
import keyword
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nb2prod.errors import NotFoundError

__all__ = [
    "RENDERED", "SERVICE_TEMPLATE", "field_identifier", "render_deployment", "render_template", "service_class_name", "templates_dir",
]

# The generated service module (the guarded runtime behind BentoML).
SERVICE_TEMPLATE = "service.py.j2"

# template → output path inside the deployment folder
RENDERED = {
    "bentofile.yaml.j2": "bentofile.yaml",
    "bentoignore.j2": ".bentoignore",
    "k8s/deployment.yaml.j2": "k8s/deployment.yaml",
    "k8s/service.yaml.j2": "k8s/service.yaml",
    "k8s/hpa.yaml.j2": "k8s/hpa.yaml",
}

_PYTYPE = {"int": "int", "float": "float", "bool": "bool", "category": "str", "string": "str", "datetime": "datetime.datetime"}


def templates_dir() -> Path:
    """``nb2prod/templates`` when installed from a wheel, else the checkout's ``templates/``."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "templates", here.parents[3] / "templates"):
        if (candidate / "bentofile.yaml.j2").is_file():
            return candidate
    raise NotFoundError("nb2prod's templates folder is missing from this install", fix="reinstall nb2prod (pip install --force-reinstall nb2prod)")


def service_class_name(name: str) -> str:
    """``credit-default`` → ``CreditDefaultService``."""
    return "".join(part.capitalize() for part in re.split(r"[^a-zA-Z0-9]+", name) if part) + "Service"


def field_identifier(name: str, index: int) -> str:
    """A Python identifier for a feature (the JSON name stays the field's alias)."""
    ident = re.sub(r"\W", "_", name)
    if not ident.isidentifier() or keyword.iskeyword(ident) or ident.startswith(("model_", "_")) or ident in {"model_config"}:
        ident = f"f{index}_{ident}".strip("_") if ident else f"f{index}"
        ident = re.sub(r"\W", "_", ident)
    return ident


def _pytype(feature: Mapping[str, Any]) -> str:
    base = _PYTYPE.get(str(feature.get("dtype")), "str")
    return f"Optional[{base}]" if feature.get("nullable") else base


# One per process: compiling the templates for every render cost ~200 ms per topology render here (15 ms
# cached); the loader still re-reads a template whose file changed.
@functools.cache
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["pyrepr"] = repr
    env.filters["pytype"] = _pytype
    env.filters["json"] = lambda value: json.dumps(value)
    return env


def render_template(template: str, context: Mapping[str, Any]) -> str:
    """One template of ``templates/`` rendered with ``context`` (the Kubernetes topology renders per version with it)."""
    return str(_environment().get_template(template).render(**context))


def render_deployment(folder: Path, context: Mapping[str, Any], *, service_template: str = SERVICE_TEMPLATE) -> list[Path]:
    """Write ``service.py``, ``bentofile.yaml``, ``.bentoignore`` and ``k8s/*.yaml`` into ``folder``."""
    env = _environment()
    fields = [
        {**feature, "ident": field_identifier(feature["name"], i)} for i, feature in enumerate(context.get("features", []))
    ]
    ctx = {**context, "fields": fields}
    written: list[Path] = []
    for template, output in {service_template: "service.py", **RENDERED}.items():
        target = folder / output
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(env.get_template(template).render(**ctx), encoding="utf-8")
        written.append(target)
    return written
