# One image for every AIAT process; the command picks the role (aiat-gateway, aiat-worker, ...).
#   docker build -t aiat-snippets .                          # CPU engines
#   docker build -t aiat-snippets:gpu --build-arg GPU=1 .    # + CUDA libraries for faster-whisper
FROM python:3.11-slim-bookworm AS build
ARG GPU=0
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs libs
COPY services services
ENV CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=OFF"
RUN python -m venv /opt/aiat \
    && /opt/aiat/bin/pip install --no-cache-dir . \
    && if [ "$GPU" = "1" ]; then /opt/aiat/bin/pip install --no-cache-dir nvidia-cublas-cu12 'nvidia-cudnn-cu12==9.*'; fi

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --create-home aiat \
    && mkdir -p /data && chown aiat /data
COPY --from=build /opt/aiat /opt/aiat
ENV PATH=/opt/aiat/bin:$PATH \
    AIAT_DATA_DIR=/data \
    PYTHONUNBUFFERED=1 \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,video
USER 10001
VOLUME /data
ENTRYPOINT ["tini", "--"]
CMD ["aiat-gateway", "serve"]
