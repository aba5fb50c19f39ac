"""Analyzer service tests."""
