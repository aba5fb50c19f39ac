"""The Kubernetes manifests and compose files: complete kustomizations, secure pods, real settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aiat.settings import AiatSettings
from aiat_analyzer.settings import AnalyzerSettings
from aiat_gateway.settings import GatewaySettings
from aiat_renderer.settings import RendererSettings
from aiat_transcriber.settings import TranscriberSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SETTINGS: list[type[AiatSettings]] = [
    GatewaySettings,
    TranscriberSettings,
    AnalyzerSettings,
    RendererSettings,
]


def known_env_names() -> set[str]:
    """Every AIAT_* variable some settings class reads."""
    names: set[str] = set()
    for cls in SETTINGS:
        prefix = str(cls.model_config.get("env_prefix", ""))
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            names.add(str(alias).upper() if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def documents(path: Path) -> Iterator[dict[str, Any]]:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            yield doc


def kustomization_dirs() -> list[Path]:
    return sorted(p.parent for p in K8S.rglob("kustomization.yaml"))


@pytest.mark.parametrize("directory", kustomization_dirs(), ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_references_exist(directory: Path) -> None:
    spec = next(documents(directory / "kustomization.yaml"))
    refs = list(spec.get("resources", [])) + list(spec.get("components", []))
    refs += [p["path"] for p in spec.get("patches", []) if "path" in p]
    assert refs, "an empty kustomization"
    for ref in refs:
        assert (directory / ref).exists(), f"{directory / ref} is missing"


def workloads() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted((K8S / "base").glob("*.yaml")):
        for doc in documents(path):
            if doc.get("kind") in {"Deployment", "StatefulSet", "Job"}:
                yield path, doc


def test_every_pod_is_locked_down() -> None:
    seen = 0
    for path, doc in workloads():
        pod = doc["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, path
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, path
            assert container["resources"]["requests"], path
            assert "memory" in container["resources"]["limits"], path
            seen += 1
    assert seen == 7  # nats, migrate, gateway, worker and the three engines


def test_engines_use_grpc_health_probes_with_their_service_name() -> None:
    services = {
        "transcriber": "aiat.transcriber.v1.TranscriberService",
        "analyzer": "aiat.analyzer.v1.AnalyzerService",
        "renderer": "aiat.renderer.v1.RendererService",
    }
    for name, full in services.items():
        doc = next(d for d in documents(K8S / "base" / f"{name}.yaml") if d["kind"] == "Deployment")
        container = doc["spec"]["template"]["spec"]["containers"][0]
        assert container["startupProbe"]["grpc"]["service"] == full
        assert container["readinessProbe"]["grpc"]["service"] == full
        assert (
            container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] >= 150
        )


def test_gpu_component_requests_gpus_and_nvenc_capability() -> None:
    for name in ("transcriber", "analyzer", "renderer"):
        doc = next(documents(K8S / "components" / "gpu" / f"{name}.yaml"))
        containers = doc["spec"]["template"]["spec"]["containers"]
        gpu = [c for c in containers if "nvidia.com/gpu" in c["resources"].get("limits", {})]
        assert gpu, name
        for c in gpu:
            assert c["resources"]["requests"]["nvidia.com/gpu"] == c["resources"]["limits"]["nvidia.com/gpu"]
    renderer = next(documents(K8S / "components" / "gpu" / "renderer.yaml"))
    env = {e["name"]: e["value"] for e in renderer["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "video" in env["NVIDIA_DRIVER_CAPABILITIES"]


def env_names_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if "name" in value and "value" in value and str(value["name"]).startswith("AIAT_"):
            yield str(value["name"])
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("AIAT_"):
                yield key
            yield from env_names_in(item)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str) and item.startswith("AIAT_") and "=" in item:
                yield item.split("=", 1)[0]
            else:
                yield from env_names_in(item)


def test_manifests_and_compose_only_set_real_settings() -> None:
    known = known_env_names()
    files = [*K8S.rglob("*.yaml"), ROOT / "docker-compose.yml", ROOT / "docker-compose.gpu.yml"]
    used = {name for f in files for doc in documents(f) for name in env_names_in(doc)}
    assert used, "no settings found in the manifests"
    assert used <= known, f"settings that no service reads: {sorted(used - known)}"
