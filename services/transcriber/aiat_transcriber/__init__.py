"""AIAT transcriber: faster-whisper speech recognition behind a gRPC service."""
