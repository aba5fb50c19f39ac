"""The overlays as `kubectl kustomize` renders them: valid objects, and a GPU deployment that would start and scale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aiat.settings import GrpcServiceSettings
from aiat_gateway.settings import GatewaySettings
from tests.deploy.rendering import (
    K8S,
    Obj,
    config_map,
    containers,
    env_of,
    find,
    overlays,
    pod_spec,
    render,
    validation_errors,
)

ENGINES = {
    "transcriber": (50051, "aiat.transcriber.v1.TranscriberService"),
    "analyzer": (50052, "aiat.analyzer.v1.AnalyzerService"),
    "renderer": (50053, "aiat.renderer.v1.RendererService"),
}
# The worker's durable consumers (aiat_gateway.worker.main: ConsumerSpec("sessions"...), ("renders"...)).
CONSUMERS = {"sessions", "renders"}
# GPU products with NVENC (NVIDIA Video Codec SDK support matrix); Hopper and A100 have none.
NVENC_PRODUCTS = re.compile(r"^(NVIDIA-(L4|L40|L40S|A10|A10G|A16|A40|RTX.*)|Tesla-T4|Quadro-RTX.*)$")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job", "DaemonSet"}
PRODUCTION = K8S / "overlays" / "production"

dirs = pytest.mark.parametrize("directory", [K8S / "base", *overlays()], ids=lambda p: p.name)


def namespace_of(objs: list[Obj]) -> str:
    return str(next(o["metadata"]["name"] for o in objs if o["kind"] == "Namespace"))


def workloads(objs: list[Obj]) -> list[Obj]:
    return [o for o in objs if o["kind"] in WORKLOAD_KINDS]


@dirs
def test_every_object_validates_against_its_schema(directory: Path) -> None:
    errors = [e for obj in render(directory) for e in validation_errors(obj)]
    assert not errors, "\n".join(errors)


@dirs
def test_pods_are_locked_down_and_bounded(directory: Path) -> None:
    for obj in workloads(render(directory)):
        pod = pod_spec(obj)
        assert pod["securityContext"]["runAsNonRoot"] is True, obj["metadata"]["name"]
        for c in containers(obj):
            sc = {**pod["securityContext"], **c.get("securityContext", {})}
            where = f"{obj['metadata']['name']}/{c['name']}"
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert c["resources"]["requests"] and "memory" in c["resources"]["limits"], where


@dirs
def test_images_are_pinned(directory: Path) -> None:
    for obj in workloads(render(directory)):
        for c in containers(obj):
            image = c["image"]
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest", f"{c['name']}: {image} has no pinned tag"


@dirs
def test_no_default_secrets(directory: Path) -> None:
    objs = render(directory)
    assert not [o for o in objs if o["kind"] == "Secret"], (
        "secrets are created by the operator, not committed"
    )
    text = repr(objs).lower()
    for word in ("change-me", "changeme", "password"):
        assert word not in text, word
    for key, value in config_map(objs).items():
        assert "@" not in value, f"{key} carries credentials"


@dirs
def test_every_gateway_replica_signs_media_urls_with_the_secret_the_operator_created(directory: Path) -> None:
    gateway = next(
        c for c in containers(find(render(directory), "Deployment", "aiat-gateway")) if c["name"] == "gateway"
    )
    (entry,) = [e for e in gateway.get("env", []) if e["name"] == "AIAT_MEDIA_URL_SECRET"]
    assert entry == {
        "name": "AIAT_MEDIA_URL_SECRET",
        "valueFrom": {"secretKeyRef": {"name": "aiat-media-url-secret", "key": "secret"}},
    }, "a value here would be committed; none at all leaves each pod a random secret of its own"


@dirs
def test_engines_have_grpc_probes_with_their_service_name(directory: Path) -> None:
    objs = render(directory)
    for name, (port, service) in ENGINES.items():
        c = containers(find(objs, "Deployment", f"aiat-{name}"), init=False)[0]
        for probe in ("startupProbe", "readinessProbe"):
            assert c[probe]["grpc"] == {"port": port, "service": service}, (name, probe)
        assert c["livenessProbe"]["grpc"]["port"] == port


@dirs
def test_grpc_targets_are_headless_services_through_dns(directory: Path) -> None:
    objs = render(directory)
    config = config_map(objs)
    namespace = namespace_of(objs) if directory != K8S / "base" else None
    for name, (port, _) in ENGINES.items():
        svc = find(objs, "Service", f"aiat-{name}-headless")
        assert svc["spec"]["clusterIP"] == "None"
        assert port in [p["port"] for p in svc["spec"]["ports"]]
        assert svc["spec"]["selector"] == pod_spec_labels(find(objs, "Deployment", f"aiat-{name}"), svc)
        host = f"aiat-{name}-headless" + (f".{namespace}.svc.cluster.local" if namespace else "")
        assert config[f"AIAT_{name.upper()}_ADDR"] == f"dns:///{host}:{port}"


def pod_spec_labels(deployment: Obj, svc: Obj) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return {k: labels[k] for k in svc["spec"]["selector"]}


@dirs
def test_every_workload_has_a_disruption_budget(directory: Path) -> None:
    objs = render(directory)
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    for obj in workloads(objs):
        if obj["kind"] == "Job":
            continue
        labels = obj["spec"]["template"]["metadata"]["labels"]
        matching = [p for p in pdbs if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(matching) == 1, obj["metadata"]["name"]
        assert "maxUnavailable" in matching[0]["spec"], "minAvailable would block drains of one replica"


@dirs
def test_migrations_gate_the_gateway_and_the_worker(directory: Path) -> None:
    objs = render(directory)
    assert not [o for o in objs if o["kind"] == "Job"], "a Job cannot be changed in place on upgrade"
    for name in ("aiat-gateway", "aiat-worker"):
        obj = find(objs, "Deployment", name)
        init = pod_spec(obj)["initContainers"]
        assert [c["args"] for c in init] == [["aiat-gateway", "migrate"]], name
        assert init[0]["image"] == pod_spec(obj)["containers"][0]["image"]
        assert init[0]["envFrom"] == pod_spec(obj)["containers"][0]["envFrom"]


def test_production_engines_use_gpu_images_and_whole_gpus() -> None:
    objs = render(PRODUCTION)
    for name in ENGINES:
        obj = find(objs, "Deployment", f"aiat-{name}")
        pod = pod_spec(obj)
        engine = pod["containers"][0]
        assert re.fullmatch(rf"ghcr\.io/aiat/aiat-{name}-gpu:[\w.-]+", engine["image"]), engine["image"]
        gpu = [c for c in pod["containers"] if "nvidia.com/gpu" in c["resources"].get("limits", {})]
        assert len(gpu) == 1, name
        res = gpu[0]["resources"]
        assert res["requests"]["nvidia.com/gpu"] == res["limits"]["nvidia.com/gpu"] == 1
        assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    transcriber = pod_spec(find(objs, "Deployment", "aiat-transcriber"))["containers"][0]
    assert env_of(transcriber)["AIAT_TRANSCRIBER_DEVICE"] == "cuda"
    renderer = pod_spec(find(objs, "Deployment", "aiat-renderer"))["containers"][0]
    assert "video" in env_of(renderer)["NVIDIA_DRIVER_CAPABILITIES"]


def test_dev_engines_run_the_cpu_images_without_gpus() -> None:
    objs = render(K8S / "overlays" / "dev")
    for name in ENGINES:
        pod = pod_spec(find(objs, "Deployment", f"aiat-{name}"))
        assert pod["containers"][0]["image"].startswith(f"ghcr.io/aiat/aiat-{name}:")
        assert "nvidia.com/gpu" not in repr(pod)


def test_vllm_sidecar_can_start_as_its_user() -> None:
    pod = pod_spec(find(render(PRODUCTION), "Deployment", "aiat-analyzer"))
    vllm = next(c for c in pod["containers"] if c["name"] == "vllm")
    assert not vllm["image"].endswith(":latest") and ":v" in vllm["image"]
    sc = {**pod["securityContext"], **vllm["securityContext"]}
    assert isinstance(sc.get("runAsUser"), int) and sc["runAsUser"] != 0
    env = env_of(vllm)
    assert env.get("USER") and env.get("LOGNAME"), "getpass.getuser() needs a name without a passwd entry"
    volumes = {v["name"]: v for v in pod["volumes"]}
    writable = {
        m["mountPath"]: volumes[m["name"]]
        for m in vllm["volumeMounts"]
        if not m.get("readOnly") and "emptyDir" in volumes[m["name"]]
    }
    for var in ("HOME", "VLLM_CACHE_ROOT", "TRITON_CACHE_DIR", "TORCHINDUCTOR_CACHE_DIR", "HF_HOME"):
        assert any(env[var] == p or env[var].startswith(p + "/") for p in writable), f"{var} not writable"
    assert "/tmp" in writable
    assert writable["/dev/shm"]["emptyDir"]["medium"] == "Memory"
    args = vllm["args"]
    utilisation = float(args[args.index("--gpu-memory-utilization") + 1])
    assert 0.5 <= utilisation <= 0.95
    assert env.get("HF_HUB_OFFLINE") == "1", "weights come from /models, never a hub"


def test_renderer_runs_only_on_nvenc_gpus() -> None:
    pod = pod_spec(find(render(PRODUCTION), "Deployment", "aiat-renderer"))
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms
    for term in terms:
        expr = next(e for e in term["matchExpressions"] if e["key"] == "nvidia.com/gpu.product")
        assert expr["operator"] == "In"
        bad = [v for v in expr["values"] if not NVENC_PRODUCTS.match(v)]
        assert not bad, f"no NVENC on {bad}"


def test_keda_watches_both_consumers_through_fully_qualified_endpoints() -> None:
    objs = render(PRODUCTION)
    namespace = namespace_of(objs)
    services = {o["metadata"]["name"] for o in objs if o["kind"] == "Service"}
    scaled = {o["spec"]["scaleTargetRef"]["name"]: o for o in objs if o["kind"] == "ScaledObject"}
    worker = [t for t in scaled["aiat-worker"]["spec"]["triggers"] if t["type"] == "nats-jetstream"]
    assert {t["metadata"]["consumer"] for t in worker} == CONSUMERS
    concurrency = GatewaySettings().worker_concurrency
    for t in worker:
        meta = t["metadata"]
        host, _, port = meta["natsServerMonitoringEndpoint"].partition(":")
        svc, _, rest = host.partition(".")
        assert rest == f"{namespace}.svc.cluster.local" and port == "8222", host
        assert svc in services
        assert find(objs, "Service", svc)["spec"].get("clusterIP") == "None", "per-node queries need pod DNS"
        assert meta["stream"] == GatewaySettings().jobs_stream
        assert int(meta["lagThreshold"]) == concurrency
    for name in ENGINES:
        (trigger,) = scaled[f"aiat-{name}"]["spec"]["triggers"]
        assert trigger["type"] == "prometheus"
        meta = trigger["metadata"]
        assert re.match(r"^https?://[\w-]+\.[\w-]+\.svc\.cluster\.local:\d+$", meta["serverAddress"])
        assert f'service="{name}"' in meta["query"] and f'namespace="{namespace}"' in meta["query"]
        engine = pod_spec(find(objs, "Deployment", f"aiat-{name}"))["containers"][0]
        slots = env_of(engine)[f"AIAT_{name.upper()}_MAX_CONCURRENCY"]
        assert meta["threshold"] == slots, f"{name}: threshold must match the pod's concurrency"


def test_prometheus_scrapes_what_the_engine_triggers_query() -> None:
    objs = render(PRODUCTION)
    monitors = [o for o in objs if o["kind"] == "PodMonitor"]
    assert monitors
    for name in ENGINES:
        deployment = find(objs, "Deployment", f"aiat-{name}")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        engine = pod_spec(deployment)["containers"][0]
        port_names = {p["name"] for p in engine["ports"]}
        env = env_of(engine)
        assert env[f"AIAT_{name.upper()}_METRICS_PORT"]
        assert any(
            m["spec"]["selector"]["matchLabels"].items() <= labels.items()
            and any(e["port"] in port_names for e in m["spec"]["podMetricsEndpoints"])
            for m in monitors
        ), name


def test_production_nats_is_a_three_node_jetstream_cluster() -> None:
    objs = render(PRODUCTION)
    sts = find(objs, "StatefulSet", "aiat-nats")
    assert sts["spec"]["replicas"] == 3
    headless = find(objs, "Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert 6222 in [p["port"] for p in headless["spec"]["ports"]]
    args = pod_spec(sts)["containers"][0]["args"]
    assert "-js" in args and "--cluster_name" in args
    assert args[args.index("--name") + 1] == "$(POD_NAME)"
    routes = args[args.index("--routes") + 1].split(",")
    svc = headless["metadata"]["name"]
    assert routes == [f"nats://aiat-nats-{i}.{svc}:6222" for i in range(3)]


def test_production_volumes_name_a_storage_class() -> None:
    objs = render(PRODUCTION)
    for name in ("aiat-media", "aiat-models"):
        pvc = find(objs, "PersistentVolumeClaim", name)
        assert pvc["spec"].get("storageClassName"), name
        assert pvc["spec"]["accessModes"] == ["ReadWriteMany"], name


@dirs
def test_worker_is_probed_on_its_health_endpoint(directory: Path) -> None:
    worker = next(
        c for c in containers(find(render(directory), "Deployment", "aiat-worker")) if c["name"] == "worker"
    )
    env = env_of(worker)
    port = int(env["AIAT_WORKER_HEALTH_PORT"])
    assert env["AIAT_WORKER_HEALTH_HOST"] == "0.0.0.0"  # the kubelet probes the pod IP
    assert {"name": "health", "containerPort": port} in worker["ports"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert worker[probe]["httpGet"] == {"path": "/healthz", "port": "health"}, probe


def test_production_jobs_stream_is_replicated_on_every_nats_node() -> None:
    objs = render(PRODUCTION)
    replicas = find(objs, "StatefulSet", "aiat-nats")["spec"]["replicas"]
    assert config_map(objs)["AIAT_JOBS_STREAM_REPLICAS"] == str(replicas)


def test_production_engines_serve_no_grpc_reflection() -> None:
    objs = render(PRODUCTION)
    settings = GrpcServiceSettings.model_validate(
        {"AIAT_GRPC_REFLECTION": config_map(objs)["AIAT_GRPC_REFLECTION"]}
    )
    assert settings.reflection is False
    cm = next(
        o["metadata"]["name"]
        for o in objs
        if o["kind"] == "ConfigMap" and "AIAT_GRPC_REFLECTION" in o["data"]
    )
    for engine in ENGINES:
        container = next(
            c
            for c in containers(find(objs, "Deployment", f"aiat-{engine}"), init=False)
            if c["name"] == engine
        )
        assert {"configMapRef": {"name": cm}} in container["envFrom"], engine
        assert "AIAT_GRPC_REFLECTION" not in env_of(container), engine  # not switched back on per engine
