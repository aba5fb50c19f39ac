"""Access control at start-up, with the real entry points: refusing an open API off loopback, no secrets in logs."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_gateway import stack as stack_module
from aiat_gateway.db.migrate import upgrade

KEY = "process-test-key-" + "0123456789abcdef"


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with NatsServer(tmp_path_factory.mktemp("nats")) as server:
        yield server.url


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """The environment without any AIAT_* setting of the caller, data under tmp_path."""
    for name in list(os.environ):
        if name.startswith("AIAT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AIAT_DATA_DIR", str(tmp_path / "data"))
    return dict(os.environ)


@pytest.fixture
def password_db(postgres_server_url: str) -> Iterator[tuple[str, str]]:
    """A PostgreSQL database owned by a role that logs in with a password: (its URL with the password, the password)."""
    password = "Pg-" + secrets.token_hex(12)
    name = "auth_" + secrets.token_hex(4)
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        conn.execute(f"CREATE DATABASE {name} OWNER {name}")
    url = make_url(postgres_server_url).set(username=name, password=password, database=name)
    yield url.render_as_string(hide_password=False), password
    with psycopg.connect(postgres_server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {name}")


def refused(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run an entry point that must exit at once; one that serves instead is killed and fails the test."""
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError(f"{argv} started serving instead of refusing") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def test_gateway_refuses_an_open_api_off_loopback(clean_env: dict[str, str]) -> None:
    for host in ("0.0.0.0", "::"):
        env = {**clean_env, "AIAT_HTTP_HOST": host, "AIAT_HTTP_PORT": str(free_port())}
        result = refused([sys.executable, "-m", "aiat_gateway.main", "serve"], env)
        assert result.returncode == 2, result
        assert f"refusing to serve the API on {host} without API keys" in result.stderr
        assert "AIAT_API_KEYS" in result.stderr and "AIAT_AUTH_DISABLED=true" in result.stderr


def test_gateway_with_keys_off_loopback_refuses_a_per_process_media_url_secret(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**clean_env, "AIAT_HTTP_HOST": "0.0.0.0", "AIAT_HTTP_PORT": str(free_port()), "AIAT_API_KEYS": KEY}
    result = refused([sys.executable, "-m", "aiat_gateway.main", "serve"], env)
    assert result.returncode == 2, result
    assert "refusing to serve the API on 0.0.0.0 without AIAT_MEDIA_URL_SECRET" in result.stderr
    assert KEY not in result.stderr + result.stdout


def test_make_run_refuses_an_open_api_off_loopback_before_starting_anything(
    clean_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**clean_env, "AIAT_HTTP_HOST": "0.0.0.0", "AIAT_HTTP_PORT": str(free_port())}
    result = refused([sys.executable, "-m", "aiat_gateway.stack"], env)
    assert result.returncode == 2, result
    assert "refusing to serve the API on 0.0.0.0" in result.stderr
    assert not (tmp_path / "data" / "nats").exists()  # no NATS, no child started


def run_gateway(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`aiat-gateway serve` as a real process, its output in `log`; returns once /healthz answers."""
    port = int(env["AIAT_HTTP_PORT"])
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "aiat_gateway.main", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_auth_disabled_serves_off_loopback_and_says_so(
    clean_env: dict[str, str], nats_url: str, tmp_path: Path
) -> None:
    db = tmp_path / "aiat.db"
    upgrade(f"sqlite:///{db}")
    port = free_port()
    env = {
        **clean_env,
        "AIAT_HTTP_HOST": "0.0.0.0",
        "AIAT_HTTP_PORT": str(port),
        "AIAT_AUTH_DISABLED": "true",
        "AIAT_DATABASE_URL": f"sqlite:///{db}",
        "AIAT_NATS_URL": nats_url,
    }
    proc = run_gateway(env, tmp_path / "gateway.log")
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/sessions", timeout=5).status_code == 200
    finally:
        stop(proc)
    assert "API keys are disabled (AIAT_AUTH_DISABLED=true)" in (tmp_path / "gateway.log").read_text()


def test_open_on_loopback_warns_and_keys_and_db_password_never_reach_the_log(
    clean_env: dict[str, str], nats_url: str, tmp_path: Path, password_db: tuple[str, str]
) -> None:
    url, password = password_db
    upgrade(url.replace("postgresql://", "postgresql+psycopg://", 1))
    port = free_port()
    base = {**clean_env, "AIAT_HTTP_PORT": str(port), "AIAT_NATS_URL": nats_url, "AIAT_DATABASE_URL": url}

    open_log = tmp_path / "open.log"
    stop(run_gateway(base, open_log))
    assert "the API is open (no AIAT_API_KEYS)" in open_log.read_text()

    keyed_log = tmp_path / "keyed.log"
    proc = run_gateway({**base, "AIAT_API_KEYS": KEY, "AIAT_LOG_LEVEL": "DEBUG"}, keyed_log)
    try:
        api = f"http://127.0.0.1:{port}/api/v1/sessions"
        assert httpx.get(api, timeout=5).status_code == 401
        assert httpx.get(api, headers={"X-API-Key": KEY[:-1] + "x"}, timeout=5).status_code == 401
        assert httpx.get(api, headers={"Authorization": f"Bearer {KEY}"}, timeout=5).status_code == 200
        httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
    finally:
        stop(proc)
    text = keyed_log.read_text()
    assert "GET /api/v1/sessions" in text  # the access log was on
    assert "the API is open" not in text
    for secret in (KEY, KEY[:-1], password):
        assert secret not in text, secret


def test_make_run_logs_the_database_url_without_its_password(
    clean_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    password_db: tuple[str, str],
    nats_url: str,
) -> None:
    url, password = password_db
    monkeypatch.setenv("AIAT_DATABASE_URL", url)
    monkeypatch.setenv("AIAT_NATS_URL", nats_url)
    caplog.set_level(logging.INFO)
    stack = stack_module.Stack(grace=5)
    stack.children = [stack_module.Child("idle", [sys.executable, "-c", "import time; time.sleep(30)"])]
    try:
        stack.start()  # migrates the real database, then logs where it is
    finally:
        stack.stop()
    assert "database ready at postgresql://" in caplog.text and "***" in caplog.text
    assert password not in caplog.text
    assert "the API is open (no AIAT_API_KEYS)" in caplog.text
