"""gRPC TLS between the worker/gateway and an engine: a real analyzer server and the worker's real client class."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fastapi.testclient import TestClient

from aiat.analyzer.v1 import analyzer_pb2
from aiat.errors import StartupError
from aiat.grpc_service import check_health
from aiat.nats_server import NatsServer
from aiat.net import free_port
from aiat_analyzer.factory import build_engine
from aiat_analyzer.server import create_app
from aiat_analyzer.settings import AnalyzerSettings
from aiat_gateway.api.app import create_app as create_gateway
from aiat_gateway.settings import GatewaySettings
from aiat_gateway.worker.clients import ServiceClients
from aiat_gateway.worker.errors import StepError
from tests.fixtures.grpc_app import serving
from tests.gateway import seed

INTERNAL_NAME = "analyzer.aiat.internal"


@dataclass(frozen=True)
class Issuer:
    """A CA: its name, key and PEM file."""

    name: x509.Name
    key: ec.EllipticCurvePrivateKey
    pem: Path


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    path.with_suffix(".crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return path.with_suffix(".crt"), path.with_suffix(".key")


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def make_ca(directory: Path, cn: str) -> Issuer:
    """A self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        _builder(name, name, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .sign(key, hashes.SHA256())
    )
    pem, _ = _write(directory / cn, cert, key)
    return Issuer(name, key, pem)


def make_leaf(directory: Path, cn: str, ca: Issuer, *, client: bool, names: list[str]) -> tuple[Path, Path]:
    """A server (or client) certificate and key signed by `ca`; `names` are DNS names or IP addresses."""
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
    builder = (
        _builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]), ca.name, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return _write(directory / cn, builder.sign(ca.key, hashes.SHA256()), key)


@dataclass(frozen=True)
class Pki:
    """Two unrelated CAs and certificates issued by them."""

    ca: Issuer
    other_ca: Issuer
    server: tuple[Path, Path]  # localhost / 127.0.0.1, by ca
    named_server: tuple[Path, Path]  # only INTERNAL_NAME, by ca
    client: tuple[Path, Path]  # by ca
    rogue_client: tuple[Path, Path]  # by other_ca


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    ca, other = make_ca(d, "aiat-test-ca"), make_ca(d, "other-ca")
    return Pki(
        ca=ca,
        other_ca=other,
        server=make_leaf(d, "server", ca, client=False, names=["localhost", "127.0.0.1"]),
        named_server=make_leaf(d, "named-server", ca, client=False, names=[INTERNAL_NAME]),
        client=make_leaf(d, "worker", ca, client=True, names=[]),
        rogue_client=make_leaf(d, "rogue", other, client=True, names=[]),
    )


@asynccontextmanager
async def tls_analyzer(
    monkeypatch: pytest.MonkeyPatch, server: tuple[Path, Path], client_ca: Path | None = None
) -> AsyncIterator[str]:
    """A real analyzer (lexical engine) configured for TLS through the shared AIAT_GRPC_TLS_* variables."""
    with monkeypatch.context() as env:
        env.setenv("AIAT_GRPC_TLS_CERT", str(server[0]))
        env.setenv("AIAT_GRPC_TLS_KEY", str(server[1]))
        if client_ca is not None:
            env.setenv("AIAT_GRPC_TLS_CLIENT_CA", str(client_ca))
        settings = AnalyzerSettings(engine="lexical", port=0, min_seconds=5, max_seconds=30)
        engine = build_engine(settings)
        app = create_app(settings, engine)
    assert app.tls is not None
    async with serving(app, engine) as port:
        yield f"127.0.0.1:{port}"


def client_settings(
    monkeypatch: pytest.MonkeyPatch,
    ca: Path | None,
    cert: tuple[Path, Path] | None = None,
    server_name: str = "",
) -> GatewaySettings:
    """The worker's settings from the AIAT_GRPC_TLS_* client variables."""
    with monkeypatch.context() as env:
        for var in ("CA", "CLIENT_CERT", "CLIENT_KEY", "SERVER_NAME"):
            env.delenv(f"AIAT_GRPC_TLS_{var}", raising=False)
        if ca is not None:
            env.setenv("AIAT_GRPC_TLS_CA", str(ca))
        if cert is not None:
            env.setenv("AIAT_GRPC_TLS_CLIENT_CERT", str(cert[0]))
            env.setenv("AIAT_GRPC_TLS_CLIENT_KEY", str(cert[1]))
        if server_name:
            env.setenv("AIAT_GRPC_TLS_SERVER_NAME", server_name)
        return GatewaySettings()


async def analyze(target: str, settings: GatewaySettings) -> int:
    """One analysis through the worker's client (health check, then the call); the snippet count."""
    clients = ServiceClients("127.0.0.1:1", target, "127.0.0.1:1", ready_wait=0, tls=settings.grpc_tls)
    try:
        request = analyzer_pb2.AnalyzeRequest(transcript=seed.sample_transcript(60.0))
        plan = await clients.analyze(request, timeout=30)
        return len(plan.snippets)
    finally:
        await clients.close()


async def refused(target: str, settings: GatewaySettings) -> str:
    """The worker's client cannot reach the analyzer: the step error it reports."""
    with pytest.raises(StepError, match=r"analyzer is not available \(UNAVAILABLE") as failure:
        await analyze(target, settings)
    return str(failure.value)


async def test_tls_server_answers_a_tls_client_and_refuses_plaintext(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with tls_analyzer(monkeypatch, pki.server) as target:
        assert await analyze(target, client_settings(monkeypatch, pki.ca.pem)) > 0
        await refused(target, client_settings(monkeypatch, None))  # plaintext


async def test_a_client_trusting_another_ca_is_refused(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    async with tls_analyzer(monkeypatch, pki.server) as target:
        await refused(target, client_settings(monkeypatch, pki.other_ca.pem))


async def test_mutual_tls_needs_a_client_certificate_signed_by_the_client_ca(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with tls_analyzer(monkeypatch, pki.server, client_ca=pki.ca.pem) as target:
        await refused(target, client_settings(monkeypatch, pki.ca.pem))  # no certificate
        await refused(target, client_settings(monkeypatch, pki.ca.pem, pki.rogue_client))
        assert await analyze(target, client_settings(monkeypatch, pki.ca.pem, pki.client)) > 0


async def test_server_name_override_checks_the_certificate_against_that_name(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with tls_analyzer(monkeypatch, pki.named_server) as target:
        await refused(target, client_settings(monkeypatch, pki.ca.pem))  # 127.0.0.1 is not in the certificate
        settings = client_settings(monkeypatch, pki.ca.pem, server_name=INTERNAL_NAME)
        assert await analyze(target, settings) > 0
        await refused(target, client_settings(monkeypatch, pki.ca.pem, server_name="other.internal"))


async def test_readyz_checks_the_engines_over_tls(
    pki: Pki, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with NatsServer(tmp_path / "nats") as nats:
        async with tls_analyzer(monkeypatch, pki.server, client_ca=pki.ca.pem) as target:
            for ca, cert, wanted in ((pki.ca.pem, pki.client, "SERVING"), (None, None, "UNAVAILABLE")):
                tls = client_settings(monkeypatch, ca, cert)
                settings = tls.model_copy(
                    update={
                        "data_dir": tmp_path,
                        "database_url": f"sqlite:///{tmp_path / 'aiat.db'}",
                        "nats_url": nats.url,
                        "transcriber_addr": f"127.0.0.1:{free_port()}",
                        "analyzer_addr": target,
                        "renderer_addr": f"127.0.0.1:{free_port()}",
                    }
                )
                # In a thread: the TestClient blocks, and this loop must keep serving the analyzer.
                checks = await asyncio.to_thread(readyz_checks, settings)
                assert checks["analyzer"] == wanted, checks


def readyz_checks(settings: GatewaySettings) -> dict[str, str]:
    """The gateway's /readyz checks, from the real app."""
    with TestClient(create_gateway(settings)) as client:
        checks: dict[str, str] = client.get("/readyz").json()["checks"]
    return checks


async def test_check_health_over_tls(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    async with tls_analyzer(monkeypatch, pki.server) as target:
        assert await check_health(target, tls=client_settings(monkeypatch, pki.ca.pem).grpc_tls) == "SERVING"
        assert (await check_health(target)).startswith("UNAVAILABLE")


def test_settings_refuse_half_a_tls_configuration(pki: Pki, tmp_path: Path) -> None:
    cert, key = pki.server
    with pytest.raises(ValueError, match="AIAT_GRPC_TLS_CERT and AIAT_GRPC_TLS_KEY go together"):
        AnalyzerSettings.model_validate({"AIAT_GRPC_TLS_CERT": str(cert)})
    with pytest.raises(ValueError, match="AIAT_GRPC_TLS_CLIENT_CA needs"):
        AnalyzerSettings.model_validate({"AIAT_GRPC_TLS_CLIENT_CA": str(pki.ca.pem)})
    with pytest.raises(ValueError, match="need AIAT_GRPC_TLS_CA"):
        GatewaySettings(grpc_tls_client_cert=cert, grpc_tls_client_key=key)
    with pytest.raises(ValueError, match=r"AIAT_GRPC_TLS_CA .* cannot be read"):
        GatewaySettings(grpc_tls_ca=tmp_path / "missing.pem")
    not_pem = tmp_path / "key.der"
    not_pem.write_bytes(b"\x30\x82")
    settings = AnalyzerSettings.model_validate(
        {"engine": "lexical", "AIAT_GRPC_TLS_CERT": str(cert), "AIAT_GRPC_TLS_KEY": str(not_pem)}
    )
    with pytest.raises(StartupError, match=r"AIAT_GRPC_TLS_KEY .* is not a PEM file"):
        create_app(settings, build_engine(settings))
