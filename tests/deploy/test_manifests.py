"""The Kubernetes manifest sources and compose files: complete kustomizations, real settings."""

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
