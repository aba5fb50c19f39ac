"""A small REST client of the gateway: every HTTP failure becomes an ApiError carrying the CLI's exit code."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import httpx

DEFAULT_URL = "http://127.0.0.1:8000"
API = "/api/v1"

# Exit codes (README, "Command line"): scripts branch on these.
OK = 0
API_ERROR = 1  # the server refused or failed (4xx/5xx not below), or a session/render failed
USAGE = 2  # bad arguments or invalid input, including the server's 422
NOT_FOUND = 3
AUTH = 4  # 401/403: missing or wrong AIAT_API_KEY
CONFLICT = 5  # 409: not possible in the current state (e.g. editing the plan of a running session)
UNREACHABLE = 6  # no answer from --url

_CODES = {401: AUTH, 403: AUTH, 404: NOT_FOUND, 409: CONFLICT, 422: USAGE}


class ApiError(Exception):
    """A failed request: the message to show and the exit code."""

    def __init__(self, message: str, exit_code: int = API_ERROR, status: int | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.status = status


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:500]


class _Counted:
    """A file object reporting how many bytes were read (httpx streams it in chunks)."""

    def __init__(self, f: BinaryIO, report: Callable[[int], None]) -> None:
        self._f = f
        self._report = report

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._report(len(data))
        return data

    def fileno(self) -> int:
        return self._f.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()


@dataclass
class Client:
    """The gateway at `url`, with the API key from AIAT_API_KEY when set."""

    url: str = DEFAULT_URL
    key: str | None = None
    timeout: float = 60.0

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        key = self.key if self.key is not None else os.environ.get("AIAT_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=self.timeout)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; ApiError (with its exit code) unless the answer is 2xx."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiError(f"cannot reach the API at {self.url}: {exc}", UNREACHABLE) from exc
        self.check(response)
        return response

    @staticmethod
    def check(response: httpx.Response) -> None:
        """ApiError for a non-2xx answer."""
        if response.is_success:
            return
        code = _CODES.get(response.status_code, API_ERROR)
        raise ApiError(f"{response.status_code}: {_detail(response)}", code, response.status_code)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a successful request."""
        return self.request(method, f"{API}{path}", **kwargs).json()

    def upload_link(self, link: str, name: str, module: str | None) -> dict[str, Any]:
        """POST /upload-session."""
        body = {"name": name, "module": module, "drive_link": link}
        result: dict[str, Any] = self.json("POST", "/upload-session", json=body)
        return result

    def upload_file(
        self, path: Path, name: str, module: str | None, progress: Callable[[int], None] = lambda _n: None
    ) -> dict[str, Any]:
        """POST /upload-file, streaming the file from disk (it is never read into memory whole)."""
        data = {"name": name, **({"module": module} if module else {})}
        with path.open("rb") as f:
            files = {"file": (path.name, _Counted(f, progress), "application/octet-stream")}
            # The upload may take long; the read timeout stays for the answer.
            result: dict[str, Any] = self.json("POST", "/upload-file", data=data, files=files)
        return result

    def download(self, path: str, dest: Path, progress: Callable[[int, int | None], None]) -> Path:
        """Stream GET `path` into `dest` (a .part file renamed at the end)."""
        part = dest.with_name(dest.name + ".part")
        try:
            with self._http.stream("GET", path) as response:
                if not response.is_success:
                    response.read()
                    self.check(response)
                total = int(response.headers.get("content-length", 0)) or None
                with part.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 16):
                        out.write(chunk)
                        progress(len(chunk), total)
        except httpx.TransportError as exc:
            part.unlink(missing_ok=True)
            raise ApiError(f"cannot reach the API at {self.url}: {exc}", UNREACHABLE) from exc
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        part.replace(dest)
        return dest
