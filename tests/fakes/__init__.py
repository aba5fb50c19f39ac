"""Fake external services for tests."""

from .fake_drive import FakeDrive, fake_drive_url

__all__ = ["FakeDrive", "fake_drive_url"]
