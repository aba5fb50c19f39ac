"""Optional TLS between the worker/gateway and the gRPC engine services (PEM files, mutual TLS optional)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from aiat.errors import StartupError

ChannelOptions = Sequence[tuple[str, str | int]]


def read_pem(path: Path, what: str) -> bytes:
    """The bytes of a PEM file named by a setting; StartupError naming the setting when unreadable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise StartupError(f"{what} {str(path)!r} cannot be read: {exc.strerror or exc}") from exc
    if b"-----BEGIN " not in data:
        raise StartupError(f"{what} {str(path)!r} is not a PEM file")
    return data


@dataclass(frozen=True)
class ServerTls:
    """A server's certificate chain and key, and the CA its clients' certificates must be signed by (mTLS)."""

    cert: bytes
    key: bytes
    client_ca: bytes | None = None

    @classmethod
    def from_files(cls, cert: Path, key: Path, client_ca: Path | None = None) -> ServerTls:
        """Read the PEM files (AIAT_GRPC_TLS_CERT / _KEY / _CLIENT_CA)."""
        return cls(
            read_pem(cert, "AIAT_GRPC_TLS_CERT"),
            read_pem(key, "AIAT_GRPC_TLS_KEY"),
            read_pem(client_ca, "AIAT_GRPC_TLS_CLIENT_CA") if client_ca is not None else None,
        )

    def credentials(self) -> grpc.ServerCredentials:
        """Server credentials; with a client CA, a client without a certificate signed by it is refused."""
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )


@dataclass(frozen=True)
class ClientTls:
    """What a client needs to reach TLS servers: the CA bundle, its own certificate for mTLS, a name override."""

    ca: bytes | None = None
    cert: bytes | None = None
    key: bytes | None = None
    server_name: str = ""

    @classmethod
    def from_files(
        cls, ca: Path | None, cert: Path | None = None, key: Path | None = None, server_name: str = ""
    ) -> ClientTls:
        """Read the PEM files (AIAT_GRPC_TLS_CA / _CLIENT_CERT / _CLIENT_KEY); no CA = the system roots."""
        if (cert is None) != (key is None):
            raise StartupError("AIAT_GRPC_TLS_CLIENT_CERT and AIAT_GRPC_TLS_CLIENT_KEY go together")
        return cls(
            read_pem(ca, "AIAT_GRPC_TLS_CA") if ca is not None else None,
            read_pem(cert, "AIAT_GRPC_TLS_CLIENT_CERT") if cert is not None else None,
            read_pem(key, "AIAT_GRPC_TLS_CLIENT_KEY") if key is not None else None,
            server_name,
        )

    def credentials(self) -> grpc.ChannelCredentials:
        """Channel credentials verifying the server against the CA (the system roots when none)."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert
        )

    def options(self) -> list[tuple[str, str | int]]:
        """Channel args: the name the server's certificate is checked against, when not the target's host."""
        return [("grpc.ssl_target_name_override", self.server_name)] if self.server_name else []


def channel(target: str, tls: ClientTls | None, options: ChannelOptions = ()) -> grpc.aio.Channel:
    """A TLS channel when `tls` is given, else a plaintext one (the default, as before TLS existed)."""
    if tls is None:
        return grpc.aio.insecure_channel(target, options=list(options))
    return grpc.aio.secure_channel(target, tls.credentials(), options=[*options, *tls.options()])
