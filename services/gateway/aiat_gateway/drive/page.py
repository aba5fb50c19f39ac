"""Drive's HTML pages: the virus-scan confirmation form, the download link and what an error page means."""

from __future__ import annotations

import logging
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from .errors import DriveError, DriveNotFound, DriveNotPublic, DriveQuotaExceeded, DriveUnavailable
from .guard import is_login_url

log = logging.getLogger(__name__)

QUOTA_HINT = "Too many users have viewed or downloaded this file recently"


class DrivePage(HTMLParser):
    """Extracts the confirmation form, the download link and the error text from a Drive HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.form_action: str | None = None
        self.form_inputs: list[tuple[str, str]] = []
        self.download_href: str | None = None
        self.error_caption = ""
        self.error_subcaption = ""
        self.signin_form = False
        self._in_form = False
        self._capture: str | None = None
        self._capture_tag = ""

    @classmethod
    def parse(cls, text: str) -> DrivePage:
        """Parse a page; what a malformed page yields up to the fault is kept (it is just not the file)."""
        page = cls()
        try:
            page.feed(text)
            page.close()
        except Exception:
            log.debug("unparseable Drive page", exc_info=True)
        return page

    @property
    def error_text(self) -> str:
        """The error explanation (the subcaption, else the caption), whitespace collapsed."""
        return " ".join((self.error_subcaption or self.error_caption).split())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Track the download form, its hidden inputs and the error captions."""
        a = {k.lower(): (v or "") for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "form":
            action = a.get("action", "")
            if a.get("id") == "download-form":
                self.form_action = action
                self._in_form = True
            elif is_login_url(action):
                self.signin_form = True
        elif tag == "input" and self._in_form:
            if a.get("type", "").lower() == "hidden" and a.get("name"):
                self.form_inputs.append((a["name"], a.get("value", "")))
        elif tag == "a" and a.get("id") == "uc-download-link" and a.get("href"):
            self.download_href = a["href"]
        if "uc-error-subcaption" in classes:
            self._capture, self._capture_tag = "sub", tag
        elif "uc-error-caption" in classes:
            self._capture, self._capture_tag = "cap", tag

    def handle_endtag(self, tag: str) -> None:
        """Close the form or caption being read."""
        if tag == "form":
            self._in_form = False
        if self._capture and tag == self._capture_tag:
            self._capture = None

    def handle_data(self, data: str) -> None:
        """Collect caption text."""
        if self._capture == "sub":
            self.error_subcaption += data
        elif self._capture == "cap":
            self.error_caption += data


def page_error(status: int, page: DrivePage) -> DriveError | None:
    """The failure a page answered with HTTP `status` (below 500) stands for; None when it may be a form."""
    error = page.error_text
    lowered = error.lower()
    if status == 404:
        return DriveNotFound("The Google Drive file was not found: it does not exist or was deleted.")
    if status == 429 or QUOTA_HINT.lower() in lowered or "quota" in lowered:
        return DriveQuotaExceeded(
            "Google Drive's download quota for this file is exceeded: "
            f"{error[:300] or QUOTA_HINT}. Try again later (up to 24 hours) "
            "or share a copy of the file."
        )
    if status in (401, 403) or page.signin_form:
        return DriveNotPublic()
    if error and ("not exist" in lowered or "not found" in lowered):
        return DriveNotFound(f"The Google Drive file was not found: {error[:300]}")
    if error:
        return DriveUnavailable(f"Google Drive cannot serve the file: {error[:300]}")
    if status >= 400:
        return DriveUnavailable(f"Google Drive answered HTTP {status}.")
    return None


def confirmation_url(page: DrivePage, page_url: str, resource_key: str | None) -> str | None:
    """The URL the virus-scan warning's form (or download link) submits to, as a GET; None without one."""
    if page.form_action is not None:
        action = urljoin(page_url, page.form_action or page_url)
        parts = urlsplit(action)
        query = parse_qsl(parts.query, keep_blank_values=True)
        names = {k for k, _ in page.form_inputs}
        query = [(k, v) for k, v in query if k not in names] + page.form_inputs
        if resource_key and "resourcekey" not in {k for k, _ in query}:
            query.append(("resourcekey", resource_key))
        return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
    if page.download_href:
        return urljoin(page_url, page.download_href)
    return None
