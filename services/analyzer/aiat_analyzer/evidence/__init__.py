"""Boundary evidence beside word cohesion: speech (pauses, cues), meaning (embeddings), slides."""
