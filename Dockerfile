# Waypoint: the Telegram bot with its local models and embedded index.
#
# Base image: an exact Python release. Pin it by digest as well before building for
# production (tags move when Debian is patched; a digest does not):
#   docker buildx imagetools inspect python:3.11.14-slim-bookworm   # prints "Digest: sha256:…"
#   docker build --build-arg PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:<digest> .
# Dependencies: docker/requirements.runtime.lock (runtime only, every file hashed), generated
# from requirements.lock by docker/runtime_lock.py; the CPU torch wheel comes from the PyTorch
# index with its hash. The wheel is built in a separate stage from a hashed build backend.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS wheel
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY docker/requirements.build.lock ./
RUN pip install --require-hashes --no-deps -r requirements.build.lock
COPY pyproject.toml README.md requirements.lock ./
COPY bot ./bot
COPY ingest ./ingest
COPY prompts ./prompts
RUN pip wheel --no-deps --no-build-isolation -w /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    LANGSMITH_TRACING=false \
    LANGCHAIN_TRACING_V2=false \
    WAYPOINT_DATA_DIR=/data \
    WAYPOINT_KNOWLEDGE_DIR=/data/knowledge \
    WAYPOINT_SECRET_KEY_FILE=/keys/secret.key \
    WAYPOINT_HTTP_HOST=127.0.0.1 \
    WAYPOINT_HTTP_PORT=9090

RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/waypoint waypoint \
    && mkdir -p /data /keys \
    && chown waypoint:waypoint /data /keys \
    && chmod 0700 /data /keys

# Runtime dependencies only (no test or lint tools), each file checked against its hash.
COPY docker/requirements.runtime.lock /tmp/requirements.runtime.lock
RUN pip install --require-hashes --no-deps -r /tmp/requirements.runtime.lock \
    && pip check \
    && rm /tmp/requirements.runtime.lock
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-deps --no-index /tmp/wheels/waypoint-*.whl && rm -r /tmp/wheels

# The shipped knowledge, read-only; the entrypoint copies it onto the volume at each start,
# where admin uploads (knowledge/uploads/) are written and kept.
COPY --chown=root:root knowledge /opt/waypoint/knowledge
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/waypoint-entrypoint

USER waypoint
WORKDIR /home/waypoint
# /data: index, state database, knowledge and uploads (back it up).
# /keys: the pseudonym key, kept apart from /data and out of its backups (or pass
# WAYPOINT_SECRET_KEY / a Docker secret through WAYPOINT_SECRET_KEY_FILE instead).
VOLUME ["/data", "/keys"]
# /healthz on the loopback port inside the container; the first start ingests (minutes).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15m --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['WAYPOINT_HTTP_PORT'], timeout=4)"]
ENTRYPOINT ["waypoint-entrypoint"]
CMD []
