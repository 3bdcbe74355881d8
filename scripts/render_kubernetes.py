#!/usr/bin/env python3
"""Render a kustomize overlay of deploy/kubernetes/ to YAML, with no kustomize binary.

Usage: scripts/render_kubernetes.py OVERLAY_DIR [--only-kind Job] [--exclude-kind Job]
                                     [--image-tag TAG] [--print-namespace]

Implements exactly the subset of kustomize that our manifests use, and refuses anything else
(so a new field in a kustomization.yaml fails loudly instead of being ignored):
  resources (files and directories with a kustomization.yaml), namespace, labels (pairs, on
  metadata only), images (newName/newTag), replicas, patches (strategic merge, by `path`, matched
  on kind + name). Strategic merge: maps merge recursively, `null` deletes a key, lists of
  containers/volumes/env/ports/volumeMounts merge by their key, other lists are replaced.
`kubectl kustomize OVERLAY_DIR` gives the same documents where kubectl is installed.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "labels",
    "images",
    "replicas",
    "patches",
}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "PersistentVolume",
    "StorageClass",
    "CustomResourceDefinition",
    "PriorityClass",
}
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet"}

Doc = dict[str, Any]


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not implement, or is inconsistent."""


def load_documents(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def strategic_merge(base: Any, patch: Any, field: str | None = None) -> Any:
    """Merge ``patch`` into ``base`` as kubectl's strategic merge patch does for our fields."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and field in MERGE_KEYS:
        key = MERGE_KEYS[field]
        merged_list = [copy.deepcopy(item) for item in base]
        for item in patch:
            same = (i for i, old in enumerate(merged_list) if old.get(key) == item[key])
            match = next(same, None)
            if match is None:
                merged_list.append(copy.deepcopy(item))
            else:
                merged_list[match] = strategic_merge(merged_list[match], item)
        return merged_list
    return copy.deepcopy(patch)


def _containers(doc: Doc) -> list[Doc]:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        spec = spec.get("jobTemplate", {}).get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    return [*pod.get("containers", []), *pod.get("initContainers", [])]


def _identity(doc: Doc) -> tuple[str, str]:
    return doc["kind"], doc["metadata"]["name"]


def build(directory: Path) -> list[Doc]:
    """The documents of the kustomization in ``directory``, transformed as kustomize would."""
    kustomization_file = directory / "kustomization.yaml"
    if not kustomization_file.is_file():
        raise KustomizeError(f"{directory}: no kustomization.yaml")
    spec: Doc = yaml.safe_load(kustomization_file.read_text())
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{kustomization_file}: unsupported fields {sorted(unknown)}")

    docs: list[Doc] = []
    for entry in spec.get("resources", []):
        target = (directory / entry).resolve()
        docs.extend(build(target) if target.is_dir() else load_documents(target))
    seen: set[tuple[str, str]] = set()
    for doc in docs:
        if _identity(doc) in seen:
            raise KustomizeError(f"duplicate resource {_identity(doc)}")
        seen.add(_identity(doc))

    for patch_entry in spec.get("patches", []):
        if set(patch_entry) != {"path"}:
            raise KustomizeError(f"{kustomization_file}: only `patches: - path:` is supported")
        for patch in load_documents(directory / patch_entry["path"]):
            index = next((i for i, d in enumerate(docs) if _identity(d) == _identity(patch)), None)
            if index is None:
                raise KustomizeError(f"patch target {_identity(patch)} not found")
            docs[index] = strategic_merge(docs[index], patch)

    for replica in spec.get("replicas", []):
        targets = [
            d for d in docs if d["kind"] in WORKLOADS and d["metadata"]["name"] == replica["name"]
        ]
        if not targets:
            raise KustomizeError(f"replicas: no workload named {replica['name']}")
        for doc in targets:
            doc["spec"]["replicas"] = int(replica["count"])

    for image in spec.get("images", []):
        for doc in docs:
            for container in _containers(doc):
                name, _, tag = container["image"].partition(":")
                if name == image["name"]:
                    new_name = image.get("newName", name)
                    new_tag = image.get("newTag", tag)
                    container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name

    for label_set in spec.get("labels", []):
        if set(label_set) - {"pairs"}:
            raise KustomizeError("labels: only `pairs` (metadata labels) is supported")
        for doc in docs:
            labels = doc["metadata"].setdefault("labels", {})
            labels.update(label_set["pairs"])

    if "namespace" in spec:
        for doc in docs:
            if doc["kind"] not in CLUSTER_SCOPED:
                doc["metadata"]["namespace"] = spec["namespace"]
    return docs


def namespace_of(overlay: Path) -> str:
    """The one namespace every namespaced resource of the overlay lands in."""
    namespaces = {d["metadata"].get("namespace") for d in build(overlay)} - {None}
    if len(namespaces) != 1:
        raise KustomizeError(f"{overlay}: expected one namespace, found {sorted(namespaces)}")
    return str(namespaces.pop())


def render(
    overlay: Path,
    *,
    only_kind: str | None = None,
    exclude_kind: str | None = None,
    image_tag: str | None = None,
) -> str:
    docs = build(overlay)
    if image_tag:
        for doc in docs:
            for container in _containers(doc):
                container["image"] = container["image"].rsplit(":", 1)[0] + f":{image_tag}"
    if only_kind:
        docs = [d for d in docs if d["kind"] == only_kind]
    if exclude_kind:
        docs = [d for d in docs if d["kind"] != exclude_kind]
    return yaml.safe_dump_all(docs, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overlay", type=Path)
    parser.add_argument("--only-kind")
    parser.add_argument("--exclude-kind")
    parser.add_argument("--image-tag", help="Override the tag of every Helpline image.")
    parser.add_argument(
        "--print-namespace", action="store_true", help="Print the overlay's namespace only."
    )
    args = parser.parse_args(argv)
    try:
        if args.print_namespace:
            print(namespace_of(args.overlay))
            return 0
        rendered = render(
            args.overlay,
            only_kind=args.only_kind,
            exclude_kind=args.exclude_kind,
            image_tag=args.image_tag,
        )
        sys.stdout.write(rendered)
    except (KustomizeError, OSError, KeyError) as exc:
        print(f"render_kubernetes: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
