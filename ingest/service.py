"""Open the index with the configured encoders and run ingest: shared by the CLI and the bot."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ingest.encoders import Encoder, encoders_for, load_encoder
from ingest.index import IndexLock, chroma_client
from ingest.pipeline import Ingestor, IngestSummary


def load_encoders(setting: str) -> dict[str, Encoder]:
    """The encoders for a WAYPOINT_EMBEDDINGS value (hybrid, use, minilm, e5, hybrid-e5), in the
    order `encoders_for` gives: for a combination the primary (multilingual) encoder first."""
    return {name: load_encoder(name) for name in encoders_for(setting)}


def ingest(
    *,
    knowledge_dir: Path,
    data_dir: Path,
    chroma_url: str | None,
    encoders: dict[str, Encoder],
    client: Any | None = None,
    rebuild: bool = False,
    dry_run: bool = False,
    lock: bool = True,
    progress: Callable[[Iterable[Any]], Iterable[Any]] | None = None,
    token: str | None = None,
    ca_file: Path | None = None,
) -> IngestSummary:
    """Run one ingest. Takes the embedded index's lock unless the caller already holds it."""
    index_lock = IndexLock(data_dir, enabled=lock and chroma_url is None)
    with index_lock:
        if client is None:
            client = chroma_client(data_dir / "chroma", chroma_url, token=token, ca_file=ca_file)
        return Ingestor(knowledge_dir, client, encoders).run(
            rebuild=rebuild, dry_run=dry_run, progress=progress
        )


def is_stale(
    knowledge_dir: Path,
    data_dir: Path,
    chroma_url: str | None,
    encoder_names: Iterable[str],
    *,
    token: str | None = None,
    ca_file: Path | None = None,
) -> bool:
    """True when the index is missing or any file's hash differs from what the index holds."""
    from ingest.documents import discover, doc_id_for
    from ingest.errors import IndexError_
    from ingest.index import Collection
    from ingest.pipeline import ORGANIZATIONS_FILE, content_hash

    if chroma_url is None and not (data_dir / "chroma").is_dir():
        return True
    client = chroma_client(data_dir / "chroma", chroma_url, token=token, ca_file=ca_file)
    wanted = {doc_id_for(p, knowledge_dir): content_hash(p) for p in discover(knowledge_dir)}
    orgs = knowledge_dir / ORGANIZATIONS_FILE
    if orgs.is_file():
        wanted[ORGANIZATIONS_FILE] = content_hash(orgs)
    for name in encoder_names:
        try:
            collection = Collection(client, name, dim=0, create=False)
        except IndexError_:
            return True
        held = {doc_id: digest for doc_id, (digest, _) in collection.file_state().items()}
        if held != wanted:
            return True
    return False
