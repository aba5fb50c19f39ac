"""Why a Drive download failed: one hierarchy, each class with a user-facing message and a `transient` flag."""

from __future__ import annotations

from typing import ClassVar


class DriveError(Exception):
    """A download failure; `message` is shown to the user, `transient` says whether a later retry may work."""

    # Unknown failures are retried, as network failures are.
    transient: ClassVar[bool] = True

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DriveNetworkError(DriveError):
    """The transfer failed after all retries (connection errors, timeouts, 5xx answers, cut bodies)."""

    transient = True


class DriveUnavailable(DriveError):
    """Drive refused the download for another reason it explained, or looped on redirects or forms."""

    transient = True


class DriveNotPublic(DriveError):
    """The file is not shared with "Anyone with the link"."""

    transient = False

    def __init__(
        self,
        message: str = (
            "The Google Drive file is not shared publicly: set General access to 'Anyone with the link' "
            "and try again."
        ),
    ) -> None:
        super().__init__(message)


class DriveQuotaExceeded(DriveError):
    """Google's download quota for the file is exhausted."""

    transient = False


class DriveNotFound(DriveError):
    """The file does not exist (404)."""

    transient = False


class InvalidDriveLink(DriveError, ValueError):
    """The link is not a shareable Google Drive file link."""

    transient = False


class DriveFolderLink(InvalidDriveLink):
    """The link is a folder, not a file."""

    transient = False


class DriveNotVideo(DriveError):
    """Drive answered with a web page or a file that is obviously not media."""

    transient = False


class DriveTooLarge(DriveError):
    """The file exceeds the configured size cap."""

    transient = False


class DriveBlocked(DriveError):
    """A request or redirect targeted a host the SSRF guard refuses."""

    transient = False


class DriveDiskFull(DriveError):
    """The server's disk (or the process's file size limit) ran out while writing the download."""

    transient = False
