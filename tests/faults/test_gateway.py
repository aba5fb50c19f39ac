"""The gateway SIGKILLed after committing a session, before its job reached NATS: the reconciler sends it."""

from __future__ import annotations

import pytest

from tests.faults.checks import assert_clean_session, job_published
from tests.faults.conftest import Faults
from tests.fixtures.stack import wait_settled, wait_until

pytestmark = pytest.mark.e2e


def test_gateway_killed_between_commit_and_publish(faults: Faults) -> None:
    stack = faults.stack
    stack.kill_nats()  # the publish after the commit fails: the job stays in the outbox
    session_id = faults.upload("Committed, not published")
    assert not job_published(faults, session_id)
    stack.kill("gateway")
    stack.start_nats()
    # Only the worker's reconciler is left to publish it.
    wait_until("the reconciler to publish the job", lambda: job_published(faults, session_id), 30)
    stack.start("gateway")
    stack.wait_ready()
    final, _ = wait_settled(faults.client, session_id, timeout=120)
    assert final == "Finished"
    assert_clean_session(faults, session_id)
