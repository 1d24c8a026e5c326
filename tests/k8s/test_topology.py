"""The cluster topology rendered from the store: per-version Deployments, the HTTPRoute's weights and mirror,
retired versions dropped, kubectl apply or the command to run, every manifest valid against its schema offline."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from nb2prod.api import Workspace
from nb2prod.cli import main
from nb2prod.errors import ExecutionError, InvalidInputError, UsageError
from nb2prod.models import RegistryEvent, Traffic, VersionRecord, VersionState
from nb2prod.package.k8s import ClusterOptions, kubectl_apply, render_files

SCHEMAS = Path(__file__).parent / "schemas"
K8S_VERSION = "1.30"


def rec(vid: str) -> VersionRecord:
    return VersionRecord(vid, "credit", "2026-12-01T10:00:00", "h", bento_tag=f"credit:{vid.removeprefix('credit-')}")


def docs_of(files: dict[str, str]) -> list[dict[str, Any]]:
    return [d for text in files.values() for d in yaml.safe_load_all(text) if d]


def by_kind(files: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for doc in docs_of(files):
        kinds.setdefault(doc["kind"], []).append(doc)
    return kinds


def route_of(files: dict[str, str]) -> dict[str, Any]:
    return yaml.safe_load(files["httproute.yaml"])


def kube_schema(kind: str) -> dict[str, Any]:
    """The vendored strict Kubernetes v1.30 schema of ``kind`` (tests/k8s/schemas/k8s-v1.30-strict.json)."""
    bundle = json.loads((SCHEMAS / "k8s-v1.30-strict.json").read_text())
    return {"$schema": bundle["$schema"], "$ref": f"#/$defs/kind.{kind}", "$defs": bundle["$defs"]}


def validate_doc(doc: dict[str, Any]) -> None:
    """One manifest against its vendored schema: the Gateway API v1.6.1 HTTPRoute CRD schema, or the Kubernetes
    v1.30 strict schema of its kind. Offline; unknown fields are errors."""
    import jsonschema

    if doc["apiVersion"].startswith("gateway.networking.k8s.io/"):
        jsonschema.validate(doc, json.loads((SCHEMAS / "httproute-v1.json").read_text()))
    else:
        schema = kube_schema(doc["kind"])
        jsonschema.Draft202012Validator(schema).validate(doc)


def validate_all(files: dict[str, str]) -> set[str]:
    kinds = set()
    for doc in docs_of(files):
        validate_doc(doc)
        kinds.add(doc["kind"])
    return kinds


VERSIONS = [(rec("credit-v1"), VersionState.LIVE), (rec("credit-v2"), VersionState.CANARY),
            (rec("credit-v3"), VersionState.SHADOW), (rec("credit-v0"), VersionState.CONTROL),
            (rec("credit-vold"), VersionState.RETIRED)]


def test_live_only_one_deployment_full_weight_no_mirror() -> None:
    files, arms = render_files(Traffic(name="credit", live="credit-v1"), VERSIONS, ClusterOptions())
    assert arms == {"credit-v1": "live"}
    assert sorted(files) == ["httproute.yaml", "retrain.yaml", "version-credit-v1.yaml"]
    [rule] = route_of(files)["spec"]["rules"]
    assert rule["backendRefs"] == [{"name": "credit-v1", "port": 80, "weight": 100}] and "filters" not in rule


def test_canary_and_control_are_weights_and_the_shadow_mirrors_live_requests() -> None:
    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10, control="credit-v0", control_percent=5,
                      shadow="credit-v3", shadow_percent=25)
    files, arms = render_files(traffic, VERSIONS, ClusterOptions())
    assert arms == {"credit-v1": "live", "credit-v2": "canary", "credit-v0": "control", "credit-v3": "shadow"}
    [rule] = route_of(files)["spec"]["rules"]
    weights = {b["name"]: b["weight"] for b in rule["backendRefs"]}
    assert weights == {"credit-v1": 85, "credit-v2": 10, "credit-v0": 5}
    assert "credit-v3" not in weights  # the shadow never answers a client
    # with a split, only the live backend copies its requests to the shadow (as in-process routing does)
    live = next(b for b in rule["backendRefs"] if b["name"] == "credit-v1")
    assert live["filters"] == [{"type": "RequestMirror",
                                "requestMirror": {"backendRef": {"name": "credit-v3", "port": 80}, "percent": 25}}]
    assert all("filters" not in b for b in rule["backendRefs"] if b["name"] != "credit-v1")
    assert json.loads(route_of(files)["metadata"]["annotations"]["nb2prod/routing"])["canary_percent"] == 10


def test_shadow_alone_is_a_rule_mirror_and_fractional_shares_stay_exact() -> None:
    files, _ = render_files(Traffic(name="credit", live="credit-v1", shadow="credit-v3", shadow_percent=100), VERSIONS, ClusterOptions())
    [rule] = route_of(files)["spec"]["rules"]
    assert rule["filters"] == [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "credit-v3", "port": 80}}}]
    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=2.5, shadow="credit-v3", shadow_percent=12.5)
    files, _ = render_files(traffic, VERSIONS, ClusterOptions())
    [rule] = route_of(files)["spec"]["rules"]
    assert [b["weight"] for b in rule["backendRefs"]] == [9750, 250]
    mirror = rule["backendRefs"][0]["filters"][0]["requestMirror"]
    assert mirror["fraction"] == {"numerator": 1250, "denominator": 10000} and "percent" not in mirror
    validate_all(files)
    # the CRD's CEL rules, which the vendored JSON schema leaves out: a port on every Service reference,
    # percent or fraction (not both), numerator <= denominator
    assert all("port" in b for b in rule["backendRefs"]) and "port" in mirror["backendRef"]
    assert mirror["fraction"]["numerator"] <= mirror["fraction"]["denominator"]


def test_one_deployment_per_version_hpa_for_answering_versions_images_from_bento_tags() -> None:
    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10, control="credit-v0", control_percent=5,
                      shadow="credit-v3", shadow_percent=25)
    options = ClusterOptions(registry="registry.example/ml/", namespace="ml", protect_predict=True, store_secret="pg-url")
    files, _ = render_files(traffic, VERSIONS, options)
    kinds = by_kind(files)
    deployments = {d["metadata"]["name"]: d for d in kinds["Deployment"]}
    assert set(deployments) == {"credit-v1", "credit-v2", "credit-v0", "credit-v3"}
    assert {h["spec"]["scaleTargetRef"]["name"] for h in kinds["HorizontalPodAutoscaler"]} == {"credit-v1", "credit-v2"}
    services = {s["metadata"]["name"]: s for s in kinds["Service"]}
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]
        assert services[name]["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
        assert pod["metadata"]["labels"].items() >= deployment["spec"]["selector"]["matchLabels"].items()
        assert deployment["metadata"]["namespace"] == "ml" == services[name]["metadata"]["namespace"]
        [container] = pod["spec"]["containers"]
        assert container["image"] == f"registry.example/ml/credit:{name.removeprefix('credit-')}"
        env = {e["name"]: e for e in container["env"]}
        assert pod["metadata"]["annotations"]["nb2prod/version-id"] == name
        assert env["NB2PROD_ROUTING"]["value"] == "gateway"  # the route routes; the pod answers with its own version
        assert env["NB2PROD_PROTECT_PREDICT"]["value"] == "1"
        assert env["NB2PROD_SERVICE_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "credit-service-token", "key": "token"}
        assert env["NB2PROD_STORE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "pg-url", "key": "url"}
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"  # probes open: no token on them
    route = route_of(files)
    backend_names = {b["name"] for b in route["spec"]["rules"][0]["backendRefs"]}
    assert backend_names <= set(services)
    assert route["metadata"]["namespace"] == "ml"
    assert "SecurityPolicy" in files["httproute.yaml"] and "credit-service-token" in files["httproute.yaml"]  # auth at the edge


def test_every_kind_validates_against_its_schema_offline() -> None:
    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10, control="credit-v0", control_percent=5,
                      shadow="credit-v3", shadow_percent=25)
    options = ClusterOptions(namespace="ml", gateway="edge", gateway_namespace="infra", hostnames=("credit.example.com",),
                             storage_class="fast")
    files, _ = render_files(traffic, VERSIONS, options)
    assert validate_all(files) == {"Deployment", "Service", "HorizontalPodAutoscaler", "HTTPRoute", "PersistentVolumeClaim", "CronJob"}


def test_the_schemas_catch_broken_manifests() -> None:
    import jsonschema

    files, _ = render_files(Traffic(name="credit", live="credit-v1", shadow="credit-v3", shadow_percent=50), VERSIONS, ClusterOptions())
    route_schema = json.loads((SCHEMAS / "httproute-v1.json").read_text())
    route = route_of(files)
    bad_weight = json.loads(json.dumps(route))
    bad_weight["spec"]["rules"][0]["backendRefs"][0]["weight"] = -1
    bad_percent = json.loads(json.dumps(route))
    bad_percent["spec"]["rules"][0]["filters"][0]["requestMirror"]["percent"] = 150
    unknown = json.loads(json.dumps(route))
    unknown["spec"]["rules"][0]["backendRefs"][0]["wieght"] = 1
    for broken in (bad_weight, bad_percent, unknown):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, route_schema)
    kinds = by_kind(files)
    cronjob = kinds["CronJob"][0]
    cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claim"] = "x"
    deployment = kinds["Deployment"][0]
    deployment["spec"]["replicas"] = "two"
    service = kinds["Service"][0]
    service["spec"]["ports"][0]["port"] = "http"
    for broken_doc in (cronjob, deployment, service):
        with pytest.raises(jsonschema.ValidationError):
            validate_doc(broken_doc)


def test_the_vendored_kubernetes_schemas_agree_with_kubernetes_validate() -> None:
    """The small vendored bundle and kubernetes-validate's full schemas accept the same rendered manifests."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10, shadow="credit-v3", shadow_percent=25)
    files, _ = render_files(traffic, VERSIONS, ClusterOptions(namespace="ml", protect_predict=True))
    for doc in docs_of(files):
        if doc["kind"] != "HTTPRoute":
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_retraining_cronjob_runs_the_mounted_notebook_against_the_shared_store_into_the_pvc() -> None:
    files, _ = render_files(Traffic(name="credit", live="credit-v1"), VERSIONS, ClusterOptions(registry="reg.example"),
                            schedule="30 2 * * 1")
    kinds = by_kind(files)
    [pvc], [cron] = kinds["PersistentVolumeClaim"], kinds["CronJob"]
    assert cron["spec"]["schedule"] == "30 2 * * 1" and cron["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"] == "reg.example/credit:v1"  # the live version's image: nb2prod + the model's libraries
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert volumes["work"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    notebook = container["args"][container["args"].index("--notebook") + 1]
    assert notebook.startswith(mounts["notebook"] + "/") and volumes["notebook"]["configMap"]["name"] == "credit-notebook"
    assert container["args"][:4] == ["nb2prod", "retrain", "credit", "--if-due"]  # the policy decides, the schedule wakes it
    env = {e["name"]: e for e in container["env"]}
    assert env["NB2PROD_HOME"]["value"].startswith(mounts["work"] + "/")  # runs, new versions and Bentos land on the PVC
    assert env["BENTOML_HOME"]["value"].startswith(env["NB2PROD_HOME"]["value"])
    assert env["NB2PROD_STORE_URL"]["valueFrom"]["secretKeyRef"] == {"name": "credit-store", "key": "url"}
    assert "kubectl create configmap credit-notebook" in files["retrain.yaml"]


def test_routing_that_names_a_retired_or_unknown_version_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="retired"):
        render_files(Traffic(name="credit", live="credit-v1", shadow="credit-vold"), VERSIONS, ClusterOptions())
    with pytest.raises(UsageError, match="not a Kubernetes name"):
        ClusterOptions(gateway="Edge_Gateway")


def _setup(ws: Workspace) -> None:
    reg = ws.store.registry
    for vid in ("credit-v1", "credit-v2", "credit-v3"):
        reg.add_version(rec(vid))
    reg.set_traffic(Traffic(name="credit", live="credit-v1"), RegistryEvent("credit", "deploy", "credit-v1", "ana", "first"))
    reg.set_state("credit-v1", VersionState.LIVE)


def _yaml_files(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.yaml")}


def test_workspace_k8s_records_options_and_traffic_changes_rerender(workspace: Workspace, tmp_path: Path) -> None:
    _setup(workspace)
    result = workspace.k8s("credit", registry="reg.example", gateway="edge")
    folder = workspace.settings.deployments_dir / "credit" / "k8s"
    assert result.folder == folder and not result.applied and "kubectl apply -f" in result.message
    assert _yaml_files(folder) == {"version-credit-v1.yaml", "httproute.yaml", "retrain.yaml"}
    workspace.canary("credit:credit-v2", 20)  # the API re-renders: panels and magics follow too, not only the CLI
    route = yaml.safe_load((folder / "httproute.yaml").read_text())
    assert route["spec"]["parentRefs"] == [{"name": "edge"}]  # the options recorded above still hold
    assert {b["name"]: b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]} == {"credit-v1": 80, "credit-v2": 20}
    assert workspace.k8s("credit").arms == {"credit-v1": "live", "credit-v2": "canary"}
    (folder / "notes.yaml").write_text("# mine\n")  # a file nb2prod did not write is left alone
    workspace.rollback("credit")  # the canary stops: its version is retired and its manifests go
    assert _yaml_files(folder) == {"version-credit-v1.yaml", "httproute.yaml", "retrain.yaml", "notes.yaml"}
    out = workspace.k8s("credit", out=tmp_path / "gitops")
    assert out.folder == tmp_path / "gitops" and (tmp_path / "gitops" / "httproute.yaml").is_file()


def test_cli_verbs_rerender_the_route_and_apply_says_how_without_a_context(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(workspace)
    home = str(workspace.settings.home)
    folder = workspace.settings.deployments_dir / "credit" / "k8s"
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))  # kubectl (if installed) has no current context
    assert main(["--home", home, "shadow", "credit:credit-v3", "--percent", "30"]) == 0
    route = yaml.safe_load((folder / "httproute.yaml").read_text())
    assert route["spec"]["rules"][0]["filters"][0]["requestMirror"]["percent"] == 30
    assert (folder / "version-credit-v3.yaml").is_file()
    capsys.readouterr()
    assert main(["--home", home, "canary", "credit:credit-v2", "--percent", "10", "--apply"]) == 0
    out = capsys.readouterr().out
    assert "wrote the manifests to" in out and "kubectl apply -f" in out and "--prune" in out
    assert out.count("\n") <= 3  # status, the event, one k8s line
    route = yaml.safe_load((folder / "httproute.yaml").read_text())
    assert [b["weight"] for b in route["spec"]["rules"][0]["backendRefs"]] == [90, 10]
    assert main(["--home", home, "k8s", "credit", "--gateway", "Bad_Name"]) == 2  # one line, usage exit code
    assert "not a Kubernetes name" in capsys.readouterr().err


def test_kubectl_apply_runs_kubectl_when_there_is_a_context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in kubectl on PATH records its arguments: apply runs with the folder, the prune label and allowlist."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "kubectl.log"
    fake = bindir / "kubectl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\nif [ "$1 $2" = "config current-context" ]; then echo kind-dev; fi\n'
                    'if [ "$1" = "apply" ]; then echo "deployment.apps/credit-v1 configured"; fi\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    applied = kubectl_apply(tmp_path, "credit", namespace="ml")
    assert applied.applied and "kind-dev" in applied.message and "configured" in applied.message
    calls = log.read_text().splitlines()
    assert calls[-1].startswith(f"apply -f {tmp_path} --prune -l nb2prod/deployment=credit")
    assert "--prune-allowlist apps/v1/Deployment" in calls[-1] and calls[-1].endswith("-n ml")
    assert "PersistentVolumeClaim" not in calls[-1]  # the retraining volume is never pruned
    missing = kubectl_apply(tmp_path, "credit", which=lambda _name: None)
    assert not missing.applied and missing.message.startswith("kubectl is not installed: wrote the manifests to")
    fake.write_text('#!/bin/sh\nif [ "$1" = "apply" ]; then echo "error: no matches for kind HTTPRoute" >&2; exit 1; fi\necho ctx\n')
    with pytest.raises(ExecutionError, match="no matches for kind HTTPRoute"):
        kubectl_apply(tmp_path, "credit")


def test_a_version_that_only_shadows_labels_its_rows_shadow_without_the_mirror_header() -> None:
    """A Gateway API RequestMirror cannot add a header to the copies: the shadow pod knows from the routing."""
    from nb2prod.runtime.gateway import gateway_arm

    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10, shadow="credit-v3", shadow_percent=50)
    assert gateway_arm(traffic, "credit-v3", False) == "shadow"
    assert gateway_arm(traffic, "credit-v1", False) == "live" and gateway_arm(traffic, "credit-v2", False) == "canary"


def test_a_failed_render_after_a_traffic_change_is_a_warning_not_the_change_s_error(
    workspace: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    _setup(workspace)
    options = workspace.settings.deployments_dir / "credit" / "k8s.json"
    options.parent.mkdir(parents=True, exist_ok=True)
    options.write_text("{not json")
    with caplog.at_level("WARNING", logger="nb2prod"):
        status = workspace.canary("credit:credit-v2", 10)
    assert status.traffic.canary == "credit-v2"  # the change stands
    assert any("k8s manifests of credit not re-rendered" in r.getMessage() and "k8s.json" in r.getMessage() for r in caplog.records)
    with pytest.raises(InvalidInputError, match=r"k8s\.json is not valid"):
        workspace.k8s("credit")


def test_every_secret_and_configmap_a_pod_references_is_created_by_a_documented_command() -> None:
    """The Secrets and the ConfigMap are not rendered (no secret in git): the README's commands must create exactly those."""
    traffic = Traffic(name="credit", live="credit-v1", canary="credit-v2", canary_percent=10, shadow="credit-v3", shadow_percent=25)
    files, _ = render_files(traffic, VERSIONS, ClusterOptions())
    secrets: set[tuple[str, str]] = set()
    configmaps: set[str] = set()
    claims: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "secretKeyRef" in node:
                secrets.add((node["secretKeyRef"]["name"], node["secretKeyRef"]["key"]))
            if "configMap" in node:
                configmaps.add(node["configMap"]["name"])
            if "persistentVolumeClaim" in node:
                claims.add(node["persistentVolumeClaim"]["claimName"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for doc in docs_of(files):
        walk(doc)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert secrets == {("credit-service-token", "token"), ("credit-store", "url")}
    assert "kubectl create secret generic credit-store --from-literal=url=" in readme
    assert "kubectl create secret generic credit-service-token --from-file=token=" in readme
    assert configmaps == {"credit-notebook"} and "kubectl create configmap credit-notebook --from-file=train.ipynb=" in readme
    assert claims == {pvc["metadata"]["name"] for pvc in by_kind(files)["PersistentVolumeClaim"]}  # the volume is rendered


def test_retrain_if_due_does_nothing_until_the_policy_says_so(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    _setup(workspace)
    home = str(workspace.settings.home)
    assert main(["--home", home, "retrain", "credit", "--if-due"]) == 0
    assert "credit: not due (no retraining policy: set one with `nb2prod policy`)" in capsys.readouterr().out
    workspace.set_retrain_policy("credit", max_age_days=10**6)
    assert main(["--home", home, "retrain", "credit", "--if-due", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "name": "credit", "due": False, "reasons": ["the live version is within its max age and no trigger alert fired"]}
    assert workspace.store.registry.traffic("credit").live == "credit-v1"
