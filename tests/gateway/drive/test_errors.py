"""The Drive error hierarchy: which failures the worker retries and which settle the session as Failed."""

from __future__ import annotations

import pytest

from aiat_gateway.drive import errors
from aiat_gateway.drive.errors import (
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

# The decision the worker took before the flag, from the `kind` strings {"network", "unavailable"}:
# connection errors, timeouts, 5xx and cut bodies (network) and Drive's explained refusals (unavailable)
# are retried; everything the user has to fix is not.
TRANSIENT: dict[type[DriveError], bool] = {
    DriveError: True,
    DriveNetworkError: True,
    DriveUnavailable: True,
    DriveNotPublic: False,
    DriveQuotaExceeded: False,
    DriveNotFound: False,
    InvalidDriveLink: False,
    DriveFolderLink: False,
    DriveNotVideo: False,
    DriveTooLarge: False,
    DriveBlocked: False,
    DriveDiskFull: False,
}


@pytest.mark.parametrize(("cls", "transient"), TRANSIENT.items(), ids=lambda v: getattr(v, "__name__", ""))
def test_transient_flag_is_what_the_worker_needs(cls: type[DriveError], transient: bool) -> None:
    error = cls("why") if cls is not DriveNotPublic else cls()
    assert error.transient is transient


def test_every_error_class_is_covered() -> None:
    defined = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, DriveError) and obj.__module__ == errors.__name__
    }
    assert defined == set(TRANSIENT)


def test_user_facing_message() -> None:
    error = DriveTooLarge("The video is larger than the 1.0 GiB limit.")
    assert error.message == str(error) == "The video is larger than the 1.0 GiB limit."
    assert "Anyone with the link" in DriveNotPublic().message


def test_invalid_links_are_one_family_of_value_errors() -> None:
    folder = DriveFolderLink("a folder")
    assert isinstance(folder, InvalidDriveLink) and isinstance(folder, DriveError)
    assert isinstance(InvalidDriveLink("bad"), ValueError)
    with pytest.raises(InvalidDriveLink):
        raise folder
