"""One version's Deployment, Service and (while it answers live or canary traffic) HPA.

Rendered from the same ``templates/k8s`` files ``%deploy`` writes into the version's folder, with
the object names of the version (``route_plan.service_name``) so versions of one deployment run
side by side. The image is the version's Bento (``bentoml containerize <bento tag>``): the
service code at ``/home/bentoml/bento/src`` and the model — the deployment folder nb2prod
packs as a BentoML model — under ``/home/bentoml/bento/models``, where the service finds it.
"""

from __future__ import annotations

from typing import Any

from nb2prod.models import VersionRecord
from nb2prod.package.k8s.options import ClusterOptions
from nb2prod.package.names import version_suffix
from nb2prod.rollout.route_plan import service_name

__all__ = ["BENTO_HOME", "BENTO_PATH", "K8S_DEFAULTS", "image_for", "version_context", "version_manifests"]

# bentoml containerize: BENTOML_HOME and BENTO_PATH inside every Bento image (bentoml/_internal/container/generate.py)
BENTO_HOME = "/home/bentoml/"
BENTO_PATH = "/home/bentoml/bento"

# resources and scaling of one version's pods (the HPA scales live and canary Deployments)
K8S_DEFAULTS: dict[str, Any] = {
    "port": 3000,  # BentoML's port (EXPOSE 3000 in the image)
    "min_replicas": 1,
    "max_replicas": 5,
    "target_cpu_percent": 70,
    "cpu_request": "250m",
    "memory_request": "512Mi",
    "cpu_limit": "1",
    "memory_limit": "1Gi",
}

_AUTOSCALED = frozenset({"live", "canary"})


def image_for(record: VersionRecord, registry: str | None) -> str:
    """The version's image: its Bento tag (``bentoml containerize`` tags the image with it), under ``registry``."""
    tag = record.bento_tag or f"{record.name}:{version_suffix(record.version_id, record.name)}"
    return f"{registry.rstrip('/')}/{tag}" if registry else tag


def version_context(record: VersionRecord, options: ClusterOptions, arm: str) -> dict[str, Any]:
    """The template context of ``record`` serving as ``arm`` (live, canary, control or shadow) behind the route."""
    suffix = version_suffix(record.version_id, record.name)
    return {
        "name": record.name,
        "object_name": service_name(record.version_id),
        "version_id": record.version_id,
        "bento_version": suffix,
        "bento_tag": record.bento_tag or f"{record.name}:{suffix}",
        "arm": arm,
        "k8s": {
            **K8S_DEFAULTS,
            "image": image_for(record, options.registry),
            "store_secret": options.store_secret or f"{record.name}-store",
            "namespace": options.namespace,
            "gateway": True,
            "protect_predict": options.protect_predict,
        },
    }


def version_manifests(record: VersionRecord, options: ClusterOptions, arm: str) -> str:
    """Deployment + Service (+ HPA for live/canary) of one version, as one multi-document YAML text."""
    from nb2prod.package.render import render_template

    context = version_context(record, options, arm)
    templates = ["k8s/deployment.yaml.j2", "k8s/service.yaml.j2"]
    if arm in _AUTOSCALED:
        templates.append("k8s/hpa.yaml.j2")
    return "---\n".join(render_template(t, context) for t in templates)
