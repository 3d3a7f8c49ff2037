"""Render a Kustomize directory in Python, for the subset of Kustomize that deploy/k8s uses.

PyPI has no kustomize, and CI has no network to fetch one, so this renders ``resources`` (files and directories with
their own kustomization), ``namespace``, ``labels`` (without selectors), ``images`` and ``replicas`` — the fields
whose meaning is simple enough to apply exactly. Any other field raises: a patch added to an overlay must come with
its support here (or a real kustomize in CI), never be silently dropped.

    python -m tests.deploy.kustomize deploy/k8s/overlays/example   # prints the rendered YAML stream
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "replicas"}
# Kinds without a namespace among those deploy/k8s uses (kustomize knows the full list from the cluster's schema).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

Doc = dict[str, Any]


class UnsupportedKustomization(ValueError):
    pass


def render(directory: Path) -> list[Doc]:
    """Every document of the kustomization in ``directory``, with its transformations applied, in resource order."""
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise UnsupportedKustomization(f"{directory}: fields {sorted(unknown)} are not supported by this renderer")
    docs: list[Doc] = []
    for entry in spec.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            docs.extend(render(path))
        else:
            docs.extend(d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d)
    for label in spec.get("labels", []):
        if label.get("includeSelectors") or label.get("includeTemplates"):
            raise UnsupportedKustomization(f"{directory}: labels with selectors or templates are not supported")
        for doc in docs:
            doc.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc.setdefault("metadata", {})["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for doc in docs:
            for container in _containers(doc):
                if _image_name(container["image"]) == image["name"]:
                    container["image"] = _new_image(container["image"], image)
    for replicas in spec.get("replicas", []):
        name = replicas["name"]
        targets = [d for d in docs if d["kind"] in {"Deployment", "StatefulSet"} and d["metadata"]["name"] == name]
        if not targets:
            raise UnsupportedKustomization(f"{directory}: replicas for {name!r}, which is not a workload here")
        for doc in targets:
            doc["spec"]["replicas"] = replicas["count"]
    return [copy.deepcopy(d) for d in docs]


def _containers(doc: Doc) -> list[dict[str, Any]]:
    if doc["kind"] not in WORKLOADS:
        return []
    pod = doc["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def _image_name(image: str) -> str:
    name = image.split("@", 1)[0]
    # A tag is what follows the last colon, unless that colon belongs to a registry's port (then a slash follows it).
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name


def _new_image(image: str, rule: dict[str, str]) -> str:
    name = rule.get("newName", _image_name(image))
    if "digest" in rule:
        return f"{name}@{rule['digest']}"
    tag = rule.get("newTag")
    if tag is None:
        rest = image[len(_image_name(image)) :]
        return name + rest
    return f"{name}:{tag}"


if __name__ == "__main__":
    yaml.safe_dump_all(render(Path(sys.argv[1])), sys.stdout, sort_keys=False, allow_unicode=True)
