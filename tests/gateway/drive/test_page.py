"""Drive's HTML pages: the confirmation form, the download link and what each error page means."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from aiat_gateway.drive.errors import (
    DriveError,
    DriveNotFound,
    DriveNotPublic,
    DriveQuotaExceeded,
    DriveUnavailable,
)
from aiat_gateway.drive.page import DrivePage, confirmation_url, page_error
from tests.fakes.fake_drive import (
    QUOTA_TEXT,
    error_body,
    html_page,
    not_found_body,
    quota_body,
    signin_body,
    warning_body,
)

FID = "1AbCdEfGhIjKlMnOpQrStUvWxYz_-0123"
PAGE_URL = f"https://drive.google.com/uc?id={FID}&export=download"


def parse(body: str, title: str = "Google Drive") -> DrivePage:
    """Parse a Drive page with `body`, as the fake serves it."""
    return DrivePage.parse(html_page(title, body).decode())


def warning(action: str = "https://drive.usercontent.google.com/download", **extra: str) -> DrivePage:
    """The virus-scan warning page."""
    inputs = [("id", FID), ("export", "download"), ("confirm", "t"), ("uuid", "u-1"), *extra.items()]
    return parse(warning_body(FID, "big lecture.mp4", 300 << 20, action, inputs))


def test_virus_scan_form_is_read() -> None:
    page = warning()
    assert page.form_action == "https://drive.usercontent.google.com/download"
    assert page.form_inputs == [("id", FID), ("export", "download"), ("confirm", "t"), ("uuid", "u-1")]
    assert page.error_text == "" and not page.signin_form
    assert page_error(200, page) is None


def test_confirmation_url_submits_the_form_as_a_get() -> None:
    url = confirmation_url(warning(), PAGE_URL, None)
    assert url is not None
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "drive.usercontent.google.com", "/download")
    assert parse_qsl(parts.query) == [("id", FID), ("export", "download"), ("confirm", "t"), ("uuid", "u-1")]


def test_confirmation_url_keeps_the_resource_key() -> None:
    added = confirmation_url(warning(), PAGE_URL, "0-key")
    assert added is not None and dict(parse_qsl(urlsplit(added).query))["resourcekey"] == "0-key"
    kept = confirmation_url(warning(resourcekey="0-form"), PAGE_URL, "0-key")
    assert kept is not None and [v for k, v in parse_qsl(urlsplit(kept).query) if k == "resourcekey"] == [
        "0-form"
    ]


def test_form_inputs_replace_the_actions_query_and_a_relative_action_resolves() -> None:
    url = confirmation_url(warning(action="/download?confirm=old&keep=1"), PAGE_URL, None)
    assert url is not None
    assert url.startswith("https://drive.google.com/download?")
    query = parse_qsl(urlsplit(url).query)
    assert ("keep", "1") in query and ("confirm", "t") in query and ("confirm", "old") not in query


def test_download_link_without_a_form() -> None:
    page = parse('<a id="uc-download-link" href="/uc?export=download&amp;confirm=AbC&amp;id=X">Download</a>')
    assert (
        confirmation_url(page, PAGE_URL, None)
        == "https://drive.google.com/uc?export=download&confirm=AbC&id=X"
    )


def test_a_page_without_form_or_link_has_no_confirmation() -> None:
    page = parse("<p>Just a web page.</p>")
    assert page_error(200, page) is None
    assert confirmation_url(page, PAGE_URL, None) is None


def test_malformed_page_is_tolerated() -> None:
    # Python 3.11's parser raises on an unknown marked section; what was read before it is kept.
    page = DrivePage.parse('<p class="uc-error-subcaption">cut</p><![bogus[ x ]]>')
    assert page.error_text == "cut"


@pytest.mark.parametrize(
    ("status", "body", "expected", "says"),
    [
        (404, not_found_body(), DriveNotFound, "does not exist or was deleted"),
        (200, quota_body(), DriveQuotaExceeded, "Too many users have viewed or downloaded"),
        (403, quota_body(), DriveQuotaExceeded, "Try again later"),
        (429, "<p>slow down</p>", DriveQuotaExceeded, "Too many users"),
        (200, error_body("Daily download quota reached."), DriveQuotaExceeded, "quota reached"),
        (403, "<p>Forbidden</p>", DriveNotPublic, "Anyone with the link"),
        (401, "", DriveNotPublic, "Anyone with the link"),
        (200, signin_body(), DriveNotPublic, "Anyone with the link"),
        (200, error_body("Sorry, the file you have requested does not exist."), DriveNotFound, "not exist"),
        (200, error_body("File not found."), DriveNotFound, "File not found."),
        (200, error_body("This file is in the owner's trash."), DriveUnavailable, "owner's trash"),
        (410, "<p>Gone</p>", DriveUnavailable, "HTTP 410"),
    ],
)
def test_error_pages(status: int, body: str, expected: type[DriveError], says: str) -> None:
    error = page_error(status, parse(body))
    assert type(error) is expected
    assert error is not None and says in error.message


def test_error_text_prefers_the_subcaption_and_collapses_whitespace() -> None:
    page = parse(quota_body())
    assert page.error_caption.startswith("Sorry, you can't view")
    assert page.error_text == " ".join(QUOTA_TEXT.split())
    long = page_error(200, parse(error_body("x" * 1000)))
    assert long is not None and long.message == f"Google Drive cannot serve the file: {'x' * 300}"
