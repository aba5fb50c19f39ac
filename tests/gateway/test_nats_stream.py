"""ensure_stream brings the jobs stream to its configured replicas and limits, on a real NATS."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import APIError

from aiat.nats_server import NatsServer, nats_server_exe
from aiat.net import free_port, wait_for_port
from aiat_gateway.nats_client import ensure_stream
from aiat_gateway.settings import GatewaySettings


async def test_stream_is_created_with_its_replicas_and_an_old_config_is_updated(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "nats") as server:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        # A stream left by an older release: other age limit and duplicate window.
        await js.add_stream(
            StreamConfig(
                name="JOBS",
                subjects=["aiat.jobs.>"],
                retention=RetentionPolicy.WORK_QUEUE,
                storage=StorageType.FILE,
                duplicate_window=60.0,
                max_age=3600.0,
            )
        )
        await ensure_stream(js, "JOBS", 600.0, replicas=1)
        config = (await js.stream_info("JOBS")).config
        assert config.num_replicas == 1
        assert config.max_age == 7 * 24 * 3600.0 and config.duplicate_window == 600.0
        await ensure_stream(js, "JOBS", 600.0, replicas=1)  # again: nothing to change, no error
        await js.delete_stream("JOBS")
        await ensure_stream(js, "JOBS", 600.0, replicas=1)  # created afresh
        assert (await js.stream_info("JOBS")).config.num_replicas == 1
        # The count is really sent: one server cannot hold three copies, and says so.
        with pytest.raises(APIError):
            await ensure_stream(js, "JOBS", 600.0, replicas=3)
        await nc.close()


def test_the_replica_setting_is_bounded() -> None:
    assert GatewaySettings.model_validate({"jobs_stream_replicas": 3}).jobs_stream_replicas == 3
    for bad in (0, 6):
        with pytest.raises(ValueError):
            GatewaySettings.model_validate({"jobs_stream_replicas": bad})


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[list[str]]:
    """Three clustered nats-server -js processes on loopback ports; yields their client URLs."""
    ports = [(free_port(), free_port()) for _ in range(3)]
    routes = ",".join(f"nats://127.0.0.1:{route}" for _, route in ports)
    procs = []
    try:
        for i, (client, route) in enumerate(ports):
            cmd = [
                nats_server_exe(), "-js", "-sd", str(tmp_path / f"n{i}"), "-a", "127.0.0.1",
                "-p", str(client), "-n", f"n{i}", "--cluster_name", "aiat",
                "--cluster", f"nats://127.0.0.1:{route}", "--routes", routes,
            ]  # fmt: skip
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for client, _ in ports:
            wait_for_port("127.0.0.1", client, 10.0)
        yield [f"nats://127.0.0.1:{client}" for client, _ in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def test_a_three_node_cluster_gets_an_r3_stream_and_its_consumers_inherit(
    nats_cluster: list[str],
) -> None:
    nc = await nats.connect(servers=nats_cluster)
    js = nc.jetstream()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15.0
    while True:  # the cluster elects its JetStream meta leader a moment after start
        try:
            await ensure_stream(js, "JOBS", 600.0, replicas=3)
            break
        except Exception:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.25)
    # Made like the worker's durable consumers: no replica count of its own.
    await js.add_consumer("JOBS", ConsumerConfig(durable_name="sessions", ack_policy=AckPolicy.EXPLICIT))
    while True:
        info = await js.stream_info("JOBS")
        consumer = await js.consumer_info("JOBS", "sessions")
        peers = [len(c.replicas or []) if c else 0 for c in (info.cluster, consumer.cluster)]
        if peers == [2, 2] or loop.time() > deadline:  # the leader plus two followers, each
            break
        await asyncio.sleep(0.25)
    assert info.config.num_replicas == 3
    assert peers == [2, 2]
    await nc.close()
