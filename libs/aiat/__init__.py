"""Shared code of the AIAT Snippets services: settings, media store, gRPC/NATS helpers, protobuf code."""
