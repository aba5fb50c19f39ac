"""Share-link parsing: every Drive link shape, and the links that must be rejected."""

from __future__ import annotations

import pytest

from aiat_gateway.drive.errors import DriveFolderLink, InvalidDriveLink
from aiat_gateway.drive.links import DriveLink, parse_drive_link

FID = "1AbCdEfGhIjKlMnOpQrStUvWxYz_-0123"


@pytest.mark.parametrize(
    "url",
    [
        f"https://drive.google.com/file/d/{FID}/view",
        f"https://drive.google.com/file/d/{FID}/view?usp=sharing",
        f"https://drive.google.com/file/d/{FID}/edit",
        f"https://drive.google.com/file/d/{FID}/preview",
        f"https://drive.google.com/file/d/{FID}",
        f"https://drive.google.com/file/d/{FID}/",
        f"https://drive.google.com/file/u/0/d/{FID}/view",
        f"https://drive.google.com/file/u/2/d/{FID}/view?usp=drive_link",
        f"https://drive.google.com/a/example.edu/file/d/{FID}/view",
        f"https://drive.google.com/open?id={FID}",
        f"https://drive.google.com/uc?id={FID}",
        f"https://drive.google.com/uc?id={FID}&export=download",
        f"https://drive.google.com/uc?export=download&id={FID}",
        f"https://drive.usercontent.google.com/download?id={FID}&export=download&confirm=t",
        f"https://docs.google.com/file/d/{FID}/edit",
        f"https://docs.google.com/uc?id={FID}",
        f"http://drive.google.com/file/d/{FID}/view",
        f"  https://DRIVE.GOOGLE.COM/file/d/{FID}/view  ",
        f"drive.google.com/file/d/{FID}/view",
    ],
)
def test_every_link_shape(url: str) -> None:
    assert parse_drive_link(url) == DriveLink(FID, None)


@pytest.mark.parametrize(
    "url",
    [
        f"https://drive.google.com/file/d/{FID}/view?usp=sharing&resourcekey=0-AbC_d-1",
        f"https://drive.google.com/open?id={FID}&resourcekey=0-AbC_d-1",
        f"https://drive.google.com/uc?export=download&id={FID}&resourcekey=0-AbC_d-1",
        f"https://drive.usercontent.google.com/download?id={FID}&resourcekey=0-AbC_d-1",
    ],
)
def test_resource_key_is_kept(url: str) -> None:
    assert parse_drive_link(url) == DriveLink(FID, "0-AbC_d-1")


@pytest.mark.parametrize(
    "url",
    [
        f"https://drive.google.com/drive/folders/{FID}",
        f"https://drive.google.com/drive/folders/{FID}?usp=sharing",
        f"https://drive.google.com/drive/u/0/folders/{FID}",
        f"https://drive.google.com/drive/mobile/folders/{FID}",
        f"https://drive.google.com/embeddedfolderview?id={FID}",
    ],
)
def test_folders_are_rejected(url: str) -> None:
    with pytest.raises(InvalidDriveLink) as info:
        parse_drive_link(url)
    assert type(info.value) is DriveFolderLink
    assert "folder" in str(info.value).lower() and "video file itself" in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "not a url",
        f"ftp://drive.google.com/file/d/{FID}/view",
        f"file:///etc/passwd?id={FID}",
        f"javascript:alert(1)//drive.google.com/file/d/{FID}",
        f"https://evil.example.com/file/d/{FID}/view",
        f"https://drive.google.com.evil.example/file/d/{FID}/view",
        f"https://drive.google.com@evil.example/file/d/{FID}/view",
        f"https://user@drive.google.com/file/d/{FID}/view",
        f"https://drive.google.com:8443/file/d/{FID}/view",
        f"http://127.0.0.1/file/d/{FID}/view",
        f"http://169.254.169.254/uc?id={FID}",
        "https://drive.google.com/file/d/short/view",
        "https://drive.google.com/file/d/abc$defghijklmnopqrstuvwxyz12345/view",
        "https://drive.google.com/open?id=",
        "https://drive.google.com/uc?export=download",
        "https://drive.google.com/",
        "https://drive.google.com/drive/my-drive",
        f"https://docs.google.com/document/d/{FID}/edit",
        f"https://docs.google.com/presentation/d/{FID}/edit",
        f"https://drive.google.com/file/d/{FID}/view?resourcekey=bad%20key",
        f"https://www.youtube.com/watch?v={FID}",
    ],
)
def test_rejected(url: str) -> None:
    with pytest.raises(InvalidDriveLink) as info:
        parse_drive_link(url)
    assert isinstance(info.value, ValueError)
    assert type(info.value) is InvalidDriveLink
    assert info.value.message


def test_messages_are_user_facing() -> None:
    with pytest.raises(InvalidDriveLink, match="Only Google Drive links"):
        parse_drive_link(f"https://example.com/file/d/{FID}")
    with pytest.raises(InvalidDriveLink, match="http"):
        parse_drive_link(f"ftp://drive.google.com/file/d/{FID}")
    with pytest.raises(InvalidDriveLink, match="valid file id"):
        parse_drive_link("https://drive.google.com/file/d/tooshort/view")
