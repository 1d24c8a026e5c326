"""Retraining in the cluster: a CronJob running the training notebook, its outputs on a PersistentVolumeClaim.

The notebook comes from a ConfigMap (``<name>-notebook``, key ``train.ipynb``) mounted read-only;
the image is the live version's (it holds nb2prod, papermill, ipykernel and the model's pinned
libraries) unless ``--train-image`` names another. The job reads feedback labels and writes the
new version to the shared store (PostgreSQL URL from the Secret ``<name>-store``, key ``url``),
and keeps its work — papermill runs, the new deployment folder, the BentoML store with the new
Bento — under ``NB2PROD_HOME`` on the PVC, where CI picks the Bento up to containerize it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["NOTEBOOK_DIR", "NOTEBOOK_KEY", "RETRAIN_HOME", "WORK_DIR", "retrain_manifests"]

WORK_DIR = "/var/lib/nb2prod"  # the PVC's mount
RETRAIN_HOME = f"{WORK_DIR}/home"  # NB2PROD_HOME of the job: runs/, deployments/, bentoml/
NOTEBOOK_DIR = "/etc/nb2prod/notebook"
NOTEBOOK_KEY = "train.ipynb"
BENTO_UID = 1034  # the Bento image's "bentoml" user (bentoml containerize)


def _metadata(name: str, object_name: str, namespace: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": object_name,
        "labels": {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/component": "retrain",
            "app.kubernetes.io/part-of": "nb2prod",
            "app.kubernetes.io/managed-by": "nb2prod",
            "nb2prod/deployment": name,
        },
    }
    if namespace:
        meta["namespace"] = namespace
    return meta


def retrain_manifests(
    name: str,
    *,
    image: str,
    schedule: str,
    store_secret: str,
    namespace: str | None = None,
    storage: str = "10Gi",
    storage_class: str | None = None,
) -> list[dict[str, Any]]:
    """The PVC and the ``batch/v1`` CronJob running ``nb2prod retrain NAME --if-due --notebook …`` on ``schedule``."""
    claim = f"{name}-retrain"
    pvc_spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": storage}}}
    if storage_class:
        pvc_spec["storageClassName"] = storage_class
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": _metadata(name, claim, namespace), "spec": pvc_spec}
    container = {
        "name": "retrain",
        "image": image,
        # the Bento image's entrypoint runs any command that is not "serve"
        # --if-due: the schedule only wakes the job; the retraining policy (expiry, alerts) decides
        "args": ["nb2prod", "retrain", name, "--if-due", "--notebook", f"{NOTEBOOK_DIR}/{NOTEBOOK_KEY}"],
        "env": [
            {"name": "NB2PROD_HOME", "value": RETRAIN_HOME},
            {"name": "BENTOML_HOME", "value": f"{RETRAIN_HOME}/bentoml"},
            {"name": "BENTOML_DO_NOT_TRACK", "value": "True"},
            {"name": "NB2PROD_STORE_URL", "valueFrom": {"secretKeyRef": {"name": store_secret, "key": "url"}}},
        ],
        "volumeMounts": [
            {"name": "work", "mountPath": WORK_DIR},
            {"name": "notebook", "mountPath": NOTEBOOK_DIR, "readOnly": True},
        ],
        "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
    }
    pod = {
        "restartPolicy": "Never",
        "securityContext": {"fsGroup": BENTO_UID},
        "containers": [container],
        "volumes": [
            {"name": "work", "persistentVolumeClaim": {"claimName": claim}},
            {"name": "notebook", "configMap": {"name": f"{name}-notebook", "items": [{"key": NOTEBOOK_KEY, "path": NOTEBOOK_KEY}]}},
        ],
    }
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _metadata(name, claim, namespace),
        "spec": {
            "schedule": schedule,
            "concurrencyPolicy": "Forbid",  # one retrain at a time: the PVC is ReadWriteOnce
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "retrain"}},
                "spec": pod,
            }}},
        },
    }
    return [pvc, cronjob]
