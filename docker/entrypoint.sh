#!/bin/sh
# Container start: the knowledge the image ships goes onto the data volume (what admins
# uploaded, knowledge/uploads/, stays), then the given command, or by default an incremental
# ingest and the bot. A file that fails to index is a warning (logged, shown in /stats); if
# the whole ingest fails, the bot starts on the index it has.
set -eu
shipped="${WAYPOINT_SHIPPED_KNOWLEDGE:-/opt/waypoint/knowledge}"
live="${WAYPOINT_KNOWLEDGE_DIR:-/data/knowledge}"
mkdir -p "$live"
find "$live" -mindepth 1 -maxdepth 1 ! -name uploads -exec rm -rf -- {} +
cp -R "$shipped"/. "$live"/
if [ "$#" -gt 0 ]; then
    exec "$@"
fi
waypoint ingest --if-stale --keep-going \
    || echo "waypoint: ingest failed; starting with the index as it is" >&2
exec waypoint run
