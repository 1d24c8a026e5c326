"""Rendered service, build config and Kubernetes manifests: valid offline, complete, self-consistent."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from nb2prod.package.render import field_identifier, render_deployment, service_class_name, templates_dir

FEATURES = [
    {"name": "age", "dtype": "int", "nullable": False, "min": 21, "max": 75},
    {"name": "loan amount", "dtype": "float", "nullable": True, "min": 0.0, "max": 1e5},
    {"name": "purpose", "dtype": "category", "nullable": False, "categories": ["car", "home"]},
    {"name": "class", "dtype": "bool", "nullable": False},
]


def _render(folder: Path, **extra: object) -> list[Path]:
    context = {
        "name": "credit-default",
        "version_id": "credit-default-v20261123t170102-3f9a1c",
        "bento_name": "credit-default",
        "bento_version": "v20261123t170102-3f9a1c",
        "bento_tag": "credit-default:v20261123t170102-3f9a1c",
        "model_tag": "credit-default:v20261123t170102-3f9a1c",
        "service_class": service_class_name("credit-default"),
        "features": FEATURES,
        "task": "binary",
        "packages": ["scikit-learn==1.9.1", "pandas==2.3.3"],
        "labels": {"nb2prod.version_id": "credit-default-v20261123t170102-3f9a1c", "nb2prod.task": "binary"},
        "wheels": [],
        "k8s": {
            "image": "registry.example/credit-default:v20261123t170102-3f9a1c", "port": 3000, "min_replicas": 1,
            "max_replicas": 5, "target_cpu_percent": 70, "cpu_request": "250m", "memory_request": "512Mi",
            "cpu_limit": "1", "memory_limit": "1Gi", "store_secret": "credit-default-store",
        },
        "created_at": "2026-11-23T17:01:02+00:00",
        "bentoml_version": "1.4.39",
        "deployment_dir": str(folder),
    }
    context.update(extra)
    return render_deployment(folder, context)


def test_templates_are_found_from_the_checkout() -> None:
    assert (templates_dir() / "bentofile.yaml.j2").is_file()


def test_identifiers_and_class_names() -> None:
    assert service_class_name("credit-default") == "CreditDefaultService"
    assert field_identifier("age", 0) == "age"
    assert field_identifier("loan amount", 1) == "loan_amount"
    assert field_identifier("class", 2).isidentifier() and field_identifier("class", 2) != "class"
    assert field_identifier("model_x", 3) != "model_x"  # pydantic reserves model_*


def test_k8s_manifests_validate_offline(tmp_path: Path) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    _render(tmp_path)
    kinds = {}
    for path in sorted((tmp_path / "k8s").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        kubernetes_validate.validate(doc, "1.30", strict=True)
        kinds[doc["kind"]] = doc
    assert set(kinds) == {"Deployment", "Service", "HorizontalPodAutoscaler"}
    container = kinds["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    [mount] = container["volumeMounts"]
    assert env["NB2PROD_SPOOL_DIR"] == mount["mountPath"]  # the audit spool outlives a crashed container
    [token] = [e["valueFrom"]["secretKeyRef"] for e in container["env"] if e["name"] == "NB2PROD_SERVICE_TOKEN"]
    assert token == {"name": "credit-default-service-token", "key": "token"}  # required: no pod serves without a token
    assert kinds["Deployment"]["spec"]["template"]["spec"]["volumes"] == [{"name": mount["name"], "emptyDir": {}}]
    assert container["image"] == "registry.example/credit-default:v20261123t170102-3f9a1c"
    assert kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == "credit-default"
    assert kinds["Service"]["spec"]["selector"] == kinds["Deployment"]["spec"]["selector"]["matchLabels"]


def test_k8s_schema_validator_catches_a_broken_manifest(tmp_path: Path) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    _render(tmp_path)
    doc = yaml.safe_load((tmp_path / "k8s" / "deployment.yaml").read_text())
    doc["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, "1.30", strict=True)


def test_bentofile_service_and_bentoignore(tmp_path: Path) -> None:
    _render(tmp_path, wheels=["/wheels/nb2prod-0.1.0-py3-none-any.whl"])
    bentofile = yaml.safe_load((tmp_path / "bentofile.yaml").read_text())
    assert bentofile["service"] == "service:CreditDefaultService"
    assert bentofile["python"] == {
        "packages": ["scikit-learn==1.9.1", "pandas==2.3.3"],
        "lock_packages": False,
        "wheels": ["/wheels/nb2prod-0.1.0-py3-none-any.whl"],
    }
    assert bentofile["labels"]["nb2prod.version_id"] == "credit-default-v20261123t170102-3f9a1c"
    ignore = (tmp_path / ".bentoignore").read_text().splitlines()
    assert "model/" in ignore and "k8s/" in ignore
    source = (tmp_path / "service.py").read_text()
    tree = ast.parse(source)  # valid Python
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    assert "CreditDefaultService" in classes  # the guarded service: a thin shell, the request schema is built at start-up
    assert "GuardedRuntime" in source and "build_schema" in source
    assert "credit-default:v20261123t170102-3f9a1c" in source
