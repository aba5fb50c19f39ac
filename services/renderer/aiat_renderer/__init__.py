"""AIAT renderer: frame-accurate, styled snippet videos with FFmpeg (NVENC on GPU, libx264 on CPU)."""
