"""The cluster settings a deployment's manifests are rendered with, kept beside its versions.

``nb2prod k8s NAME --registry … --gateway …`` records them in ``<home>/deployments/NAME/k8s.json``
so every later render (after ``canary``, ``shadow``, ``promote``, ``rollback``, a deploy) writes the
same topology without the flags being repeated. The file sits outside the manifests folder, so
``kubectl apply -f`` on that folder never sees it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from nb2prod.errors import InvalidInputError, UsageError

__all__ = ["ClusterOptions", "load_options", "options_path", "save_options"]

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_HOST = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$")


@dataclasses.dataclass(frozen=True, slots=True)
class ClusterOptions:
    """Where the images live, which Gateway the route attaches to, and the retraining job's storage."""

    registry: str | None = None  # image = <registry>/<bento tag>; None: the bare Bento tag (a local/kind cluster)
    namespace: str | None = None
    gateway: str = "nb2prod-gateway"  # the Gateway the HTTPRoute attaches to (parentRefs)
    gateway_namespace: str | None = None
    hostnames: tuple[str, ...] = ()
    protect_predict: bool = False  # /predict wants the bearer token too (the route's gateway auth stays the first line)
    store_secret: str | None = None  # Secret with key ``url`` (PostgreSQL); default ``<name>-store``
    train_image: str | None = None  # the retraining CronJob's image; default: the live version's image
    storage: str = "10Gi"  # the retraining PVC
    storage_class: str | None = None

    def __post_init__(self) -> None:
        for field in ("namespace", "gateway", "gateway_namespace", "store_secret", "storage_class"):
            value = getattr(self, field)
            if value is not None and not _LABEL.match(value):
                raise UsageError(
                    f"{field.replace('_', '-')} {value!r} is not a Kubernetes name",
                    fix="use lower-case letters, digits and '-', at most 63 characters",
                )
        for host in self.hostnames:
            if not _HOST.match(host):
                raise UsageError(f"hostname {host!r} is not a DNS name", fix="e.g. --hostname credit.example.com")
        if not _QUANTITY.match(self.storage):
            raise UsageError(f"storage {self.storage!r} is not a Kubernetes quantity", fix="e.g. 10Gi")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["hostnames"] = list(self.hostnames)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if "hostnames" in values:
            values["hostnames"] = tuple(values["hostnames"] or ())
        return cls(**values)

    def merged(self, **changes: Any) -> ClusterOptions:
        """These options with every change that is not ``None`` applied."""
        given: dict[str, Any] = {k: (tuple(v) if k == "hostnames" else v) for k, v in changes.items() if v is not None}
        unknown = set(given) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise UsageError(f"unknown cluster option(s): {', '.join(sorted(unknown))}",
                             fix="use registry, namespace, gateway, gateway_namespace, hostnames, protect_predict, store_secret, "
                                 "train_image, storage or storage_class")
        return dataclasses.replace(self, **given) if given else self


def options_path(deployment_root: Path) -> Path:
    return deployment_root / "k8s.json"


def load_options(deployment_root: Path) -> ClusterOptions:
    """The recorded options of a deployment, or the defaults."""
    path = options_path(deployment_root)
    if not path.is_file():
        return ClusterOptions()
    try:
        return ClusterOptions.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{path} is not valid: {exc}", fix=f"fix or delete {path}, then run nb2prod k8s again") from exc


def save_options(deployment_root: Path, options: ClusterOptions) -> Path:
    path = options_path(deployment_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(options.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path
