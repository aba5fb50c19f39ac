"""Google Drive public downloads: share-link parsing, SSRF guard and a resumable downloader."""

from .download import (
    DownloadedFile,
    DriveBlocked,
    DriveDownloader,
    DriveError,
    DriveFolderLink,
    DriveInvalidLink,
    DriveNetworkError,
    DriveNotFound,
    DriveNotPublic,
    DriveNotVideo,
    DriveQuotaExceeded,
    DriveTooLarge,
    DriveUnavailable,
    filename_from_disposition,
    sanitize_filename,
)
from .guard import BlockedUrl, UrlGuard, is_forbidden_address
from .links import DriveLink, InvalidDriveLink, parse_drive_link

__all__ = [
    "BlockedUrl",
    "DownloadedFile",
    "DriveBlocked",
    "DriveDownloader",
    "DriveError",
    "DriveFolderLink",
    "DriveInvalidLink",
    "DriveLink",
    "DriveNetworkError",
    "DriveNotFound",
    "DriveNotPublic",
    "DriveNotVideo",
    "DriveQuotaExceeded",
    "DriveTooLarge",
    "DriveUnavailable",
    "InvalidDriveLink",
    "UrlGuard",
    "filename_from_disposition",
    "is_forbidden_address",
    "parse_drive_link",
    "sanitize_filename",
]
