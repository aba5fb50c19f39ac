"""NATS SIGKILLed: restarted on its store nothing queued is lost; restarted empty, the stream comes back."""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from nats.js.errors import NotFoundError

from aiat_gateway.api.routes.health import READY_TTL_SECONDS
from tests.faults.checks import assert_clean_session, job_published
from tests.faults.conftest import Faults
from tests.fixtures.stack import wait_settled, wait_until

pytestmark = pytest.mark.e2e

STREAM = "AIAT_JOBS"


def job_id(faults: Faults, session_id: int) -> str:
    """The id of the job the session is under (a re-drive gives it a new one)."""
    value = faults.stack.scalar("SELECT job_id FROM sessions WHERE id = :id", id=session_id)
    assert isinstance(value, str)
    return value


def stream_exists(url: str) -> bool:
    """Ask NATS whether the jobs stream exists."""

    async def ask() -> bool:
        nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            await nc.jetstream().stream_info(STREAM)
            return True
        except NotFoundError:
            return False
        finally:
            await nc.close()

    return asyncio.run(ask())


def test_jobs_queued_survive_a_nats_restart_on_its_store(faults: Faults) -> None:
    stack, client = faults.stack, faults.client
    stack.kill("worker")  # nobody consumes: the jobs wait in the stream
    sessions = [faults.upload(f"Queued {i}") for i in range(3)]
    wait_until("the jobs published", lambda: all(job_published(faults, s) for s in sessions), 20)
    jobs = [job_id(faults, s) for s in sessions]
    stack.kill_nats()
    stack.start_nats()
    stack.start("worker")
    for session_id in sessions:
        final, _ = wait_settled(client, session_id, timeout=120)
        assert final == "Finished"
        assert_clean_session(faults, session_id)
    # Each finished under the job it was queued with: none was lost and re-driven by the reconciler.
    assert [job_id(faults, s) for s in sessions] == jobs
    # The gateway publishes again on its old connection.
    later = faults.upload("After the restart")
    assert wait_settled(client, later, timeout=120)[0] == "Finished"


def delete_stream(url: str) -> None:
    """Delete the jobs stream, as a NATS that lost its store has none, while clients stay connected."""

    async def delete() -> None:
        nc = await nats.connect(url)
        await nc.jetstream().delete_stream(STREAM)
        await nc.close()

    asyncio.run(delete())
    assert not stream_exists(url)


def test_stream_lost_the_gateway_creates_it_again_on_publish(faults: Faults) -> None:
    stack, client = faults.stack, faults.client
    stack.kill("worker")  # its consumers and reconciler would re-create the stream too
    delete_stream(stack.nats.url)
    session_id = faults.upload("Stream lost")
    # Published by the gateway's own request, into the stream it made again: no restart, no reconciler.
    wait_until("the gateway to publish the job", lambda: job_published(faults, session_id), 10)
    assert stream_exists(stack.nats.url)
    stack.start("worker")
    assert wait_settled(client, session_id, timeout=120)[0] == "Finished"
    assert_clean_session(faults, session_id)


def test_nats_wiped_under_a_running_worker(faults: Faults) -> None:
    stack, client = faults.stack, faults.client
    stack.kill_nats()
    stack.start_nats(wipe=True)
    # Neither the gateway nor the worker is restarted: the worker's consumers must be made again.
    session_id = faults.upload("After the wipe, worker running")
    assert wait_settled(client, session_id, timeout=60)[0] == "Finished"
    assert_clean_session(faults, session_id)


def test_readyz_checks_the_jobs_stream(faults: Faults) -> None:
    stack, client = faults.stack, faults.client
    stack.kill("worker")  # the worker would re-create it too; here only the gateway's check may
    delete_stream(stack.nats.url)
    time.sleep(READY_TTL_SECONDS)  # past the last probe's cached answer
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text  # it found the stream missing and created it again
    assert stream_exists(stack.nats.url)
