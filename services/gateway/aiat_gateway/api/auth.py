"""Access control of the REST API: API keys (constant-time check) and per-client rate limits."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel

from aiat_gateway.settings import GatewaySettings

log = logging.getLogger("aiat.gateway.auth")

MIN_KEY_LENGTH = 16
KEY = re.compile(r"[\x21-\x2b\x2d-\x7e]+")  # visible ASCII but the comma: fits a header and the list syntax
LOOPBACK_NAMES = {"localhost"}
# GET paths a signed URL may open instead of a key: the media a <video> element or a link loads.
MEDIA_PATH = re.compile(
    r"/output/\d+/(?:snippets|slides)/[^/]+|/api/v1/snippets/\d+/download|/api/v1/sessions/\d+/media"
)
MAX_MEDIA_TTL = 3600
EXPIRES = re.compile(r"[0-9]{1,12}", re.ASCII)
SIGNATURE = re.compile(r"[0-9a-f]{64}", re.ASCII)
UNAUTHORIZED = "missing or invalid API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"


class AccessConfigError(ValueError):
    """The key configuration is unusable or unsafe: the gateway must not start."""


class ErrorOut(BaseModel):
    """An error body."""

    detail: str


def is_loopback(host: str) -> bool:
    """Whether a listen address is reachable from this machine only."""
    host = host.strip().strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_keys(settings: GatewaySettings) -> list[str]:
    """The configured API keys: AIAT_API_KEYS plus the lines of AIAT_API_KEYS_FILE."""
    keys = [k.strip() for k in settings.api_keys.get_secret_value().split(",") if k.strip()]
    path = settings.api_keys_file
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AccessConfigError(f"AIAT_API_KEYS_FILE {path} cannot be read: {exc}") from exc
        lines = (line.strip() for line in text.splitlines())
        keys += [line for line in lines if line and not line.startswith("#")]
    for number, key in enumerate(keys, 1):
        if len(key) < MIN_KEY_LENGTH or not KEY.fullmatch(key):
            # Only the position: the key itself never reaches a log.
            raise AccessConfigError(
                f"API key #{number} is unusable: each key needs at least {MIN_KEY_LENGTH} visible ASCII "
                "characters without spaces or commas (make one with `openssl rand -hex 32`)"
            )
    return keys


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


@dataclass
class Access:
    """The API keys (as SHA-256 digests) and the per-client limiter of the work-starting endpoints."""

    digests: tuple[bytes, ...] = ()
    limits: tuple[RateLimitItem, ...] = ()
    limiter: MovingWindowRateLimiter = field(default_factory=lambda: MovingWindowRateLimiter(MemoryStorage()))
    media_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    media_ttl: int = 1800

    @property
    def open(self) -> bool:
        """No keys: every request is let in."""
        return not self.digests

    def principal(self, presented: list[str]) -> str | None:
        """Who a presented key belongs to (a digest prefix, for rate limits), or None when none is valid."""
        for key in presented:
            digest = _digest(key)
            matched = False
            # Compare with every configured key, each in constant time: no timing tells which or how much matched.
            for known in self.digests:
                matched |= hmac.compare_digest(digest, known)
            if matched:
                return "key:" + digest.hex()[:16]
        return None

    def _media_sig(self, path: str, expires: int) -> str:
        message = f"GET {path}\n{expires}".encode()
        return hmac.new(self.media_secret, message, hashlib.sha256).hexdigest()

    def sign_media(self, path: str, now: float | None = None) -> tuple[int, str]:
        """Expiry (Unix seconds) and signature letting anyone GET `path` until then without a key."""
        expires = int(now if now is not None else time.time()) + self.media_ttl
        return expires, self._media_sig(path, expires)

    def media_signed(self, path: str, expires: str | None, sig: str | None, now: float | None = None) -> bool:
        """Whether `?exp=&sig=` opens `path`: a media path, not expired, not too far ahead, a valid HMAC."""
        # ASCII only: str.isdigit() accepts "²", which int() then refuses, and compare_digest raises on
        # non-ASCII str; either would be a 500 instead of a 401.
        if (
            not expires
            or not sig
            or not EXPIRES.fullmatch(expires)
            or not SIGNATURE.fullmatch(sig)
            or not MEDIA_PATH.fullmatch(path)
        ):
            return False
        current = now if now is not None else time.time()
        if not current <= int(expires) <= current + MAX_MEDIA_TTL:
            return False
        return hmac.compare_digest(self._media_sig(path, int(expires)).encode(), sig.encode())

    def hit(self, who: str) -> int | None:
        """Count one work request for `who`; seconds to wait when a limit is exceeded, else None."""
        for item in self.limits:
            if not self.limiter.hit(item, "work", who):
                reset, _remaining = self.limiter.get_window_stats(item, "work", who)
                return max(1, math.ceil(reset - time.time()))
        return None


def access_from_settings(settings: GatewaySettings) -> Access:
    """The access policy, or AccessConfigError when it would expose an open API to the network."""
    keys = load_keys(settings)
    if keys and settings.auth_disabled:
        raise AccessConfigError("AIAT_AUTH_DISABLED=true and API keys are both set; unset one of them")
    if not keys and not settings.auth_disabled and not is_loopback(settings.http_host):
        raise AccessConfigError(
            f"refusing to serve the API on {settings.http_host} without API keys: set AIAT_API_KEYS or "
            "AIAT_API_KEYS_FILE (see README, Security), listen on 127.0.0.1, or set AIAT_AUTH_DISABLED=true "
            "if an authenticating proxy stands in front"
        )
    secret = settings.media_url_secret.get_secret_value().encode()
    if keys and not secret and not is_loopback(settings.http_host):
        # Off loopback there may be several replicas; a per-process secret makes their media URLs disagree.
        raise AccessConfigError(
            f"refusing to serve the API on {settings.http_host} without AIAT_MEDIA_URL_SECRET: every gateway "
            "replica must sign media URLs with the same secret (e.g. `openssl rand -hex 32`; see README, Media URLs)"
        )
    limits = tuple(parse_many(settings.rate_limit)) if settings.rate_limit.strip() else ()
    return Access(
        digests=tuple(_digest(k) for k in keys),
        limits=limits,
        media_secret=secret or secrets.token_bytes(32),
        media_ttl=settings.media_url_ttl_seconds,
    )


def open_warning(settings: GatewaySettings) -> str | None:
    """The start-up warning of an API without keys, or None when keys protect it."""
    if load_keys(settings):
        return None
    if settings.auth_disabled:
        return (
            f"API keys are disabled (AIAT_AUTH_DISABLED=true): anyone who reaches {settings.http_host}:"
            f"{settings.http_port} can use the API"
        )
    return (
        f"the API is open (no AIAT_API_KEYS): anyone on this machine can use it at {settings.http_host}:"
        f"{settings.http_port}; set AIAT_API_KEYS to require a key"
    )


def _access(request: Request) -> Access:
    access: Access = request.app.state.aiat.access
    return access


_bearer = HTTPBearer(auto_error=False, description="An API key sent as `Authorization: Bearer <key>`")
_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key sent as `X-API-Key`"
)


async def require_api_key(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key_header)],
) -> None:
    """Let the request in only with a configured API key (or a signed media URL for a GET or HEAD); 401 otherwise.

    Async: it only hashes and compares, and a sync dependency would cost every request a thread-pool hop.
    """
    presented = [k for k in (bearer.credentials if bearer else None, api_key) if k]
    access = _access(request)
    who = access.principal(presented)
    if who is None and request.method in ("GET", "HEAD"):
        query = request.query_params
        if access.media_signed(request.url.path, query.get("exp"), query.get("sig")):
            who = "signed-url"
    if who is None:
        raise HTTPException(401, UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = who


def rate_limited(request: Request) -> None:
    """429 with Retry-After once the caller (API key, or client address when open) exceeds AIAT_RATE_LIMIT."""
    who = getattr(request.state, "principal", None)
    if who is None:
        who = "ip:" + (request.client.host if request.client else "unknown")
    access = _access(request)
    wait = access.hit(who)
    if wait is not None:
        limit = ", ".join(str(item) for item in access.limits)
        raise HTTPException(
            429, f"rate limit exceeded ({limit}); retry in {wait} s", headers={"Retry-After": str(wait)}
        )


UNAUTHORIZED_RESPONSE: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid API key"}
}
RATE_LIMITED_RESPONSE: dict[int | str, dict[str, object]] = {
    429: {"model": ErrorOut, "description": "Rate limit exceeded; retry after `Retry-After` seconds"}
}
