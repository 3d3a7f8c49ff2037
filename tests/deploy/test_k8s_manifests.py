"""deploy/k8s renders (base + the example overlay) into documents that a pinned Kubernetes version accepts, strictly,
and that say what deploy/README.md promises: probes, migrations, budgets, resources, two replicas, a lag
autoscaler."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.kustomize import UnsupportedKustomization, render

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
# The Kubernetes version the manifests are written for; kubernetes-validate (pinned in pyproject) ships its schemas.
KUBERNETES_VERSION = "1.30.0"
SERVICES = ("catalogue", "intake", "digitisation", "payments", "reporting")


def validate(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.fixture(scope="module", params=["base", "overlays/example"])
def docs(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(K8S / request.param)


@pytest.fixture(scope="module")
def overlay() -> list[dict[str, Any]]:
    return render(K8S / "overlays" / "example")


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def test_every_document_is_valid_for_the_pinned_kubernetes(docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        validate(doc)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "template", "spec", "containers", 0, "readinessProbe", "httpGett"), {"path": "/readyz"}),
        (("spec", "replica"), 2),
        (("spec", "template", "spec", "containers", 0, "resources", "requests", "cpu"), ["500m"]),
    ],
    ids=["misspelt-field", "unknown-spec-field", "wrong-type"],
)
def test_the_validation_rejects_a_broken_deployment(
    overlay: list[dict[str, Any]], path: tuple[str | int, ...], value: object
) -> None:
    broken = copy.deepcopy(one(overlay, "Deployment", "intake"))
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)


def test_each_service_has_a_probed_resourced_deployment_a_service_and_a_budget(docs: list[dict[str, Any]]) -> None:
    for name in SERVICES:
        deployment = one(docs, "Deployment", name)
        pod = deployment["spec"]["template"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
        [container] = pod["spec"]["containers"]
        assert {"name": "MOTCUA_SERVICE", "value": name} in container["env"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
        assert "memory" in container["resources"]["limits"]
        service = one(docs, "Service", name)
        assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
        budget = one(docs, "PodDisruptionBudget", name)
        assert budget["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()


def test_intake_and_reporting_run_two_replicas_and_reporting_scales_on_its_consumer_lag(
    docs: list[dict[str, Any]],
) -> None:
    for name in ("intake", "reporting"):
        assert one(docs, "Deployment", name)["spec"]["replicas"] >= 2
        assert one(docs, "PodDisruptionBudget", name)["spec"]["minAvailable"] == 1
    hpa = one(docs, "HorizontalPodAutoscaler", "reporting")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "reporting"}
    assert hpa["spec"]["minReplicas"] == 2
    [metric] = hpa["spec"]["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"]["name"] == "motcua_consumer_lag"
    assert metric["external"]["metric"]["selector"]["matchLabels"] == {"consumer": "reporting"}


def test_each_service_is_migrated_by_a_job_running_the_migration_script(docs: list[dict[str, Any]]) -> None:
    for name in SERVICES:
        job = one(docs, "Job", f"migrate-{name}")
        [container] = job["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "scripts/migrate.py", name]
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_settings_come_from_config_maps_and_secrets_that_exist_and_hold_no_secret(docs: list[dict[str, Any]]) -> None:
    config_maps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    for doc in docs:
        if doc["kind"] in {"Deployment", "Job"}:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                for source in container["envFrom"]:
                    if "configMapRef" in source:
                        assert source["configMapRef"]["name"] in config_maps
                    else:
                        assert source["secretRef"]["name"] in secrets
    for secret in secrets.values():
        assert "data" not in secret
        assert set(secret["stringData"].values()) == {""}, secret["metadata"]["name"]


def test_the_overlay_sets_namespace_image_and_replicas(overlay: list[dict[str, Any]]) -> None:
    for doc in overlay:
        if doc["kind"] == "Namespace":
            continue
        assert doc["metadata"]["namespace"] == "motcua", doc["metadata"]["name"]
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "motcua"
        if doc["kind"] in {"Deployment", "Job"}:
            [container] = doc["spec"]["template"]["spec"]["containers"]
            assert container["image"] == "registry.example.org/motcua/motcua:0.1.0"
    assert one(overlay, "Deployment", "catalogue")["spec"]["replicas"] == 2
    assert one(overlay, "Deployment", "digitisation")["spec"]["replicas"] == 1


def test_the_renderer_refuses_what_it_cannot_apply(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [../base]\npatches:\n  - path: patch.yaml\n", encoding="utf-8"
    )
    with pytest.raises(UnsupportedKustomization, match="patches"):
        render(tmp_path)
