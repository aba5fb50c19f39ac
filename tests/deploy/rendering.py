"""Render the kustomize overlays with kubectl and validate objects offline (Kubernetes and vendored CRD schemas)."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
# Oldest and newest Kubernetes minor versions the manifests are validated against.
KUBERNETES_VERSIONS = ("1.30", kubernetes_validate.latest_version())
CRD_FILES = ("keda.sh_scaledobjects.yaml", "monitoring.coreos.com_podmonitors.yaml")

Obj = dict[str, Any]


def kubectl() -> str:
    """A kubectl binary: the project virtualenv's (deploy/tools/ensure-kubectl.sh), else the one on PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    if beside.exists():
        return str(beside)
    found = shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl not found: run deploy/tools/ensure-kubectl.sh")
    return found


def overlays() -> list[Path]:
    return sorted(p for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())


@functools.cache
def render(directory: Path) -> list[Obj]:
    """`kubectl kustomize DIR`, as the README applies it, parsed into objects."""
    out = subprocess.run(
        [kubectl(), "kustomize", str(directory)], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@functools.cache
def crd_validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    """(apiVersion, kind) -> validator of the CRD's openAPIV3Schema, for each vendored CRD."""
    validators: dict[tuple[str, str], jsonschema.Draft7Validator] = {}
    for name in CRD_FILES:
        crd = next(d for d in yaml.safe_load_all((SCHEMAS / name).read_text()) if d)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(version["schema"]["openAPIV3Schema"])
            validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


def _strict(schema: Any) -> Any:
    """Reject unknown fields, as the API server's strict field validation does for CRDs."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def validation_errors(obj: Obj) -> Iterator[str]:
    """Every schema violation of one object, for each validated Kubernetes version."""
    name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    if key in crd_validators():
        for error in crd_validators()[key].iter_errors(obj):
            yield f"{name}: {error.message} at {list(error.absolute_path)}"
        return
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            yield f"{name} (k8s {version}): {error.message} at {list(error.path)}"
        except kubernetes_validate.SchemaNotFoundError:
            yield f"{name}: no schema for {key} in Kubernetes {version} nor among the vendored CRDs"


def pod_spec(obj: Obj) -> Obj:
    spec: Obj = obj["spec"]["template"]["spec"]
    return spec


def containers(obj: Obj, init: bool = True) -> list[Obj]:
    spec = pod_spec(obj)
    return list(spec.get("initContainers", []) if init else []) + list(spec["containers"])


def find(objs: list[Obj], kind: str, name: str) -> Obj:
    return next(o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name)


def env_of(container: Obj) -> dict[str, str]:
    return {e["name"]: str(e.get("value", "")) for e in container.get("env", []) if "value" in e}


def config_map(objs: list[Obj], prefix: str = "aiat-config") -> dict[str, str]:
    cm = next(o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith(prefix))
    data: dict[str, str] = cm["data"]
    return data


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True)
