"""The SSRF guard: user links reach only Google hosts; the operator endpoint may be loopback."""

from __future__ import annotations

import pytest

from aiat_gateway.drive.guard import BlockedUrl, UrlGuard, is_forbidden_address, is_login_url


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "0.0.0.0",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "169.254.1.1",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fd00::1",
        "fc00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
        "not-an-ip",
    ],
)
def test_forbidden_addresses(address: str) -> None:
    assert is_forbidden_address(address)


@pytest.mark.parametrize("address", ["142.250.74.110", "8.8.8.8", "2a00:1450:4001:82a::200e"])
def test_public_addresses(address: str) -> None:
    assert not is_forbidden_address(address)


def _resolver(mapping: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        return mapping.get(host, ["142.250.74.110"])

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/uc",
        "http://127.0.0.1:8000/",
        "http://localhost/",
        "http://[::1]/",
        "http://10.0.0.1/",
        "http://192.168.0.10/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "https://evil.example.com/download",
        "https://drive.google.com.evil.example/uc",
        "http://drive.google.com/uc",
        "ftp://drive.google.com/uc",
        "file:///etc/passwd",
    ],
)
async def test_user_links_never_reach_private_or_foreign_hosts(url: str) -> None:
    guard = UrlGuard(None, resolver=_resolver({}))
    with pytest.raises(BlockedUrl):
        await guard.check(url)


async def test_google_hosts_allowed_when_they_resolve_publicly() -> None:
    guard = UrlGuard(None, resolver=_resolver({}))
    for url in (
        "https://drive.google.com/uc?id=x",
        "https://drive.usercontent.google.com/download?id=x",
        "https://docs.google.com/uc?id=x",
        "https://doc-0s-9c-docs.googleusercontent.com/docs/x",
    ):
        await guard.check(url)


@pytest.mark.parametrize("address", ["127.0.0.1", "169.254.169.254", "10.0.0.7", "fd12::1"])
async def test_google_host_resolving_to_private_address_is_refused(address: str) -> None:
    guard = UrlGuard(None, resolver=_resolver({"drive.google.com": ["142.250.74.110", address]}))
    with pytest.raises(BlockedUrl, match="non-public"):
        await guard.check("https://drive.google.com/uc?id=x")


async def test_resolution_failure_is_refused() -> None:
    async def fail(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(BlockedUrl, match="resolve"):
        await UrlGuard(None, resolver=fail).check("https://drive.google.com/uc")


async def test_operator_endpoint_may_be_loopback() -> None:
    guard = UrlGuard("http://127.0.0.1:8123/", resolver=_resolver({}))
    await guard.check("http://127.0.0.1:8123/uc?id=x")
    await guard.check("http://127.0.0.1:8123/download?id=x&confirm=t")
    for url in (
        "http://127.0.0.1:8124/uc",  # another local port is not the endpoint
        "http://localhost:8123/uc",  # another name for it is not the endpoint either
        "https://127.0.0.1:8123/uc",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1:8123/uc",
        "https://drive.google.com/uc",  # Google hosts are replaced by the endpoint, never contacted
    ):
        with pytest.raises(BlockedUrl):
            await guard.check(url)


def test_rewrite_maps_google_hosts_to_the_endpoint() -> None:
    guard = UrlGuard("http://127.0.0.1:9000/mirror/")
    assert guard.base_url() == "http://127.0.0.1:9000/mirror"
    assert (
        guard.rewrite("https://drive.usercontent.google.com/download?id=a&confirm=t")
        == "http://127.0.0.1:9000/mirror/download?id=a&confirm=t"
    )
    assert guard.rewrite("https://drive.google.com/uc?id=a") == "http://127.0.0.1:9000/mirror/uc?id=a"
    assert guard.rewrite("http://169.254.169.254/x") == "http://169.254.169.254/x"
    assert UrlGuard(None).rewrite("https://drive.google.com/uc") == "https://drive.google.com/uc"
    assert UrlGuard(None).base_url() == "https://drive.google.com"


def test_bad_endpoint_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="AIAT_DRIVE_ENDPOINT"):
        UrlGuard("ftp://mirror")


def test_peer_address_check_catches_dns_rebinding() -> None:
    guard = UrlGuard(None)
    guard.check_peer("https://drive.google.com/uc", "142.250.74.110")
    guard.check_peer("https://drive.google.com/uc", None)
    with pytest.raises(BlockedUrl):
        guard.check_peer("https://drive.google.com/uc", "127.0.0.1")
    with pytest.raises(BlockedUrl):
        guard.check_peer("https://drive.google.com/uc", "fe80::1%eth0")
    UrlGuard("http://127.0.0.1:9000").check_peer("http://127.0.0.1:9000/uc", "127.0.0.1")


@pytest.mark.parametrize(
    ("url", "login"),
    [
        ("https://accounts.google.com/ServiceLogin?service=wise&continue=x", True),
        ("https://accounts.google.com/v3/signin/identifier?continue=x", True),
        ("http://127.0.0.1:9000/accounts/ServiceLogin?continue=x", True),
        ("https://drive.google.com/uc?id=x", False),
    ],
)
def test_login_urls(url: str, login: bool) -> None:
    assert is_login_url(url) is login
