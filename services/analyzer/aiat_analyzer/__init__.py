"""AIAT analyzer: turns a timed transcript into a snippet plan (gRPC `aiat.analyzer.v1`)."""
