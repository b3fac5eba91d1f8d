# Waypoint: the Telegram bot with its local models and embedded index.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    WAYPOINT_DATA_DIR=/data \
    WAYPOINT_KNOWLEDGE_DIR=/app/knowledge \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --create-home --uid 10001 waypoint

# Dependencies first (cached layer). torch is pinned to the CPU build.
COPY requirements.lock ./
RUN pip install --no-cache-dir --extra-index-url https://download.pytorch.org/whl/cpu \
        -r requirements.lock

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY ingest ./ingest
COPY prompts ./prompts
COPY knowledge ./knowledge
RUN pip install --no-cache-dir --no-deps . \
    && mkdir -p /data && chown waypoint:waypoint /data

USER waypoint
VOLUME ["/data"]
# Builds the index on first start (incremental afterwards), then runs the bot. A file that
# fails to index is a warning (logged, shown in /stats); if the whole ingest fails, the bot
# starts on the index it has.
CMD ["sh", "-c", "waypoint ingest --if-stale --keep-going || echo 'waypoint: ingest failed; starting with the index as it is' >&2; exec waypoint run"]
