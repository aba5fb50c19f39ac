# syntax=docker/dockerfile:1
# One image per role, each with only its own engine (targets of this file; pyproject extras of the same name):
#   docker build --target gateway         -t ghcr.io/aiat/aiat-gateway:0.1.0 .          # API, worker, migrations
#   docker build --target transcriber     -t ghcr.io/aiat/aiat-transcriber:0.1.0 .      # faster-whisper, CPU
#   docker build --target transcriber-gpu -t ghcr.io/aiat/aiat-transcriber-gpu:0.1.0 .  # + cuBLAS (CUDA 12)
#   docker build --target analyzer        -t ghcr.io/aiat/aiat-analyzer:0.1.0 .         # llama.cpp + bundled model
#   docker build --target analyzer-gpu    -t ghcr.io/aiat/aiat-analyzer-gpu:0.1.0 .     # client of a vLLM sidecar
#   docker build --target renderer        -t ghcr.io/aiat/aiat-renderer:0.1.0 .         # FFmpeg (libx264 + NVENC)
#   docker build --target renderer-gpu    -t ghcr.io/aiat/aiat-renderer-gpu:0.1.0 .     # same, NVENC driver caps
# `docker build .` without --target builds the gateway.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build stages: one virtualenv per role in /opt/aiat ------------------------------------------------
FROM ${PYTHON_IMAGE} AS build-base
RUN python -m venv /opt/aiat && /opt/aiat/bin/pip install --no-cache-dir --upgrade pip
WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs libs
COPY services services

FROM build-base AS build-gateway
RUN /opt/aiat/bin/pip install --no-cache-dir '.[gateway]'

FROM build-base AS build-transcriber
RUN /opt/aiat/bin/pip install --no-cache-dir '.[transcriber]'

FROM build-base AS build-transcriber-gpu
RUN /opt/aiat/bin/pip install --no-cache-dir '.[transcriber-gpu]'

FROM build-base AS build-analyzer
# llama-cpp-python builds from source: only the library, and not -march=native (the image runs on any AVX2 CPU).
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
ENV CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=OFF"
RUN /opt/aiat/bin/pip install --no-cache-dir '.[analyzer]'

FROM build-base AS build-analyzer-gpu
RUN /opt/aiat/bin/pip install --no-cache-dir '.[analyzer-vllm]'

FROM build-base AS build-renderer
RUN /opt/aiat/bin/pip install --no-cache-dir '.[renderer]'

# ---- runtime ------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# uid 10001 has a passwd entry and a home, so libraries that ask for the user or $HOME work.
RUN apt-get update && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --create-home --home-dir /home/aiat aiat \
    && mkdir -p /data && chown aiat:aiat /data
COPY deploy/docker/healthcheck.py /usr/local/bin/aiat-healthcheck
ENV PATH=/opt/aiat/bin:$PATH \
    HOME=/home/aiat \
    AIAT_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
USER 10001
VOLUME /data
ENTRYPOINT ["tini", "--"]

FROM runtime AS transcriber
COPY --from=build-transcriber /opt/aiat /opt/aiat
EXPOSE 50051
CMD ["aiat-transcriber"]

FROM runtime AS transcriber-gpu
COPY --from=build-transcriber-gpu /opt/aiat /opt/aiat
# CTranslate2 loads cuBLAS with dlopen("libcublas.so.12"), which never searches site-packages: put the
# nvidia-cublas-cu12 wheel's lib/ on the loader path. The build fails here if the library cannot load.
ENV LD_LIBRARY_PATH=/opt/aiat/lib/python3.11/site-packages/nvidia/cublas/lib \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
RUN python -c "import ctypes; ctypes.CDLL('libcublas.so.12'); ctypes.CDLL('libcublasLt.so.12')"
EXPOSE 50051
CMD ["aiat-transcriber"]

FROM runtime AS analyzer
COPY --from=build-analyzer /opt/aiat /opt/aiat
EXPOSE 50052
CMD ["aiat-analyzer"]

FROM runtime AS analyzer-gpu
COPY --from=build-analyzer-gpu /opt/aiat /opt/aiat
ENV AIAT_ANALYZER_ENGINE=vllm
EXPOSE 50052
CMD ["aiat-analyzer"]

FROM runtime AS renderer
USER root
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
USER 10001
COPY --from=build-renderer /opt/aiat /opt/aiat
EXPOSE 50053
CMD ["aiat-renderer"]

FROM renderer AS renderer-gpu
# NVENC/NVDEC need the driver's video capability (the NVIDIA container runtime mounts libnvidia-encode).
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,video
CMD ["aiat-renderer"]

FROM runtime AS gateway
COPY --from=build-gateway /opt/aiat /opt/aiat
EXPOSE 8000
CMD ["aiat-gateway", "serve"]
