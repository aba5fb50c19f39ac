"""Tests for the Google Drive downloader."""
