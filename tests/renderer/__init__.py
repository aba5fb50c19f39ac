"""Renderer service tests: real ffmpeg, real gRPC server in-process."""
