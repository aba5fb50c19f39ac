"""Google Drive public downloads: share-link parsing, SSRF guard and a resumable downloader.

Layers, top to bottom: `download` (transfer and resume); `page`, `links` and `filenames` (what a Drive page,
a share link and a file name mean); `guard` and `errors` (the SSRF guard, the one error hierarchy).
"""

from .download import DownloadedFile, DriveDownloader
from .errors import (
    DriveBlocked,
    DriveDiskFull,
    DriveError,
    DriveFolderLink,
    DriveNetworkError,
    DriveNotFound,
    DriveNotPublic,
    DriveNotVideo,
    DriveQuotaExceeded,
    DriveTooLarge,
    DriveUnavailable,
    InvalidDriveLink,
)
from .filenames import filename_from_disposition, sanitize_filename
from .guard import BlockedUrl, UrlGuard, is_forbidden_address
from .links import DriveLink, parse_drive_link

__all__ = [
    "BlockedUrl",
    "DownloadedFile",
    "DriveBlocked",
    "DriveDiskFull",
    "DriveDownloader",
    "DriveError",
    "DriveFolderLink",
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
