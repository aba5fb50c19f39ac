"""docker-compose files: valid against the Compose specification, pinned, healthy-gated, GPU-aware, secret-free."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.rendering import ROOT, SCHEMAS

BASE = ROOT / "docker-compose.yml"
GPU = ROOT / "docker-compose.gpu.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")
REQUIRED = re.compile(r"\$\{(\w+):\?[^}]+\}")
GPU_SERVICES = {"transcriber", "renderer", "vllm"}


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def merged() -> dict[str, dict[str, Any]]:
    """The services of `-f docker-compose.yml -f docker-compose.gpu.yml`, merged one level deep."""
    services = {k: dict(v) for k, v in load(BASE)["services"].items()}
    for name, override in load(GPU)["services"].items():
        services.setdefault(name, {}).update(override)
    return services


def resolved(text: str) -> str:
    return DEFAULT.sub(lambda m: m.group(2), text)


@pytest.mark.parametrize("path", [BASE, GPU], ids=lambda p: p.name)
def test_compose_files_match_the_specification(path: Path) -> None:
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in jsonschema.Draft7Validator(schema).iter_errors(load(path))
    ]
    assert not errors, "\n".join(errors)


def test_images_are_pinned() -> None:
    for name, svc in merged().items():
        image = resolved(svc["image"])
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest", f"{name}: {image}"


def test_every_long_running_service_has_a_healthcheck_and_waits_for_healthy_dependencies() -> None:
    services = merged()
    for name, svc in services.items():
        if svc.get("restart") == "no":
            continue  # one-shot (migrate): gated by service_completed_successfully
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        depends = svc.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: a list only waits for containers to start"
        for dep, cond in depends.items():
            wanted = (
                "service_completed_successfully"
                if services[dep].get("restart") == "no"
                else "service_healthy"
            )
            assert cond["condition"] == wanted, (name, dep)


def test_engines_probe_grpc_health_and_the_gateway_its_readiness() -> None:
    services = merged()
    for name in ("transcriber", "analyzer", "renderer"):
        assert services[name]["healthcheck"]["test"][1:3] == ["aiat-healthcheck", "grpc"], name
    assert services["gateway"]["healthcheck"]["test"][-1].endswith("/readyz")


def test_gpu_services_have_their_own_configurable_device() -> None:
    services = merged()
    variables = set()
    for name in GPU_SERVICES:
        (device,) = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert "count" not in device, f"{name}: count puts every service on GPU 0"
        (ids,) = device["device_ids"]
        match = DEFAULT.fullmatch(ids)
        assert match, f"{name}: device id must come from a variable"
        variables.add(match.group(1))
    assert len(variables) == len(GPU_SERVICES)
    assert (
        "video" in services["renderer"]["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"]
    )


def test_vllm_shares_its_card_and_has_shared_memory() -> None:
    vllm = merged()["vllm"]
    command = vllm["command"]
    utilisation = float(resolved(command[command.index("--gpu-memory-utilization") + 1]))
    assert 0.3 <= utilisation <= 0.9
    assert vllm.get("ipc") == "host" or vllm.get("shm_size")
    assert merged()["analyzer"]["depends_on"]["vllm"]["condition"] == "service_healthy"


def test_no_committed_secrets_and_every_required_variable_is_documented() -> None:
    text = BASE.read_text() + GPU.read_text()
    for match in re.finditer(r"://(\w+):([^@\s]+)@", text):
        assert REQUIRED.fullmatch(match.group(2)), f"literal password in {match.group(0)}"
    password = merged()["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert REQUIRED.fullmatch(password), "POSTGRES_PASSWORD must be required from .env"
    example = dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name in set(REQUIRED.findall(text)) | {m for m, _ in DEFAULT.findall(text)}:
        assert name in example, f"{name} is not in .env.example"
    assert example["POSTGRES_PASSWORD"] == "", ".env.example must not carry a password"
    media_secret = merged()["gateway"]["environment"]["AIAT_MEDIA_URL_SECRET"]
    assert REQUIRED.fullmatch(media_secret), "AIAT_MEDIA_URL_SECRET must be required from .env"
    assert example["AIAT_MEDIA_URL_SECRET"] == "", ".env.example must not carry a media URL secret"


def test_worker_is_checked_on_its_health_endpoint() -> None:
    worker = merged()["worker"]
    port = worker["environment"]["AIAT_WORKER_HEALTH_PORT"]
    assert worker["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/healthz"
