"""The Chroma index: embedded (PersistentClient under the data dir) or a server (CHROMA_URL).

One collection per encoder (`waypoint-minilm`, `waypoint-use`). Each records which encoder
built it; opening it with another encoder fails with a clear message. An embedded directory
has one writer process at a time: `IndexLock` guards it.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from filelock import FileLock, Timeout

from ingest.errors import EncoderMismatch, IndexError_, IndexLocked

logger = logging.getLogger(__name__)

SCHEMA = 1


def collection_name(encoder: str) -> str:
    """The Chroma collection that holds `encoder`'s vectors."""
    return f"waypoint-{encoder}"


TOKEN_ENV = "WAYPOINT_CHROMA_TOKEN"
CA_FILE_ENV = "WAYPOINT_CHROMA_CA_FILE"
_TOKEN_PROVIDER = "chromadb.auth.token_authn.TokenAuthClientProvider"


def chroma_client(
    chroma_dir: Path,
    chroma_url: str | None,
    *,
    token: str | None = None,
    ca_file: Path | None = None,
) -> Any:
    """A Chroma client with telemetry off: HttpClient for a URL, else PersistentClient.

    With a token (argument, else WAYPOINT_CHROMA_TOKEN) every request to the server carries
    `Authorization: Bearer <token>`, which Chroma's token authentication checks. An https URL
    is verified against the system CAs, or `ca_file` (else WAYPOINT_CHROMA_CA_FILE)."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if not chroma_url:
        chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(
            path=str(chroma_dir), settings=ChromaSettings(anonymized_telemetry=False)
        )
    token = token or os.environ.get(TOKEN_ENV, "").strip() or None
    ca = ca_file or (Path(os.environ[CA_FILE_ENV]) if os.environ.get(CA_FILE_ENV) else None)
    parsed = urlparse(chroma_url)
    https = parsed.scheme == "https"
    options: dict[str, Any] = {"anonymized_telemetry": False}
    if token:
        options["chroma_client_auth_provider"] = _TOKEN_PROVIDER
        options["chroma_client_auth_credentials"] = token
        if not https and parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            logger.warning(
                "the Chroma token goes to %s without TLS; use an https CHROMA_URL",
                parsed.hostname,
            )
    if https and ca is not None:
        options["chroma_server_ssl_verify"] = str(ca)
    status = _identity_status(chroma_url, token, ca)
    if status in (401, 403):
        if token:
            reason = (
                f"refused the token (check {TOKEN_ENV} against the server's "
                "CHROMA_SERVER_AUTHN_CREDENTIALS)"
            )
        else:
            reason = f"requires a token: set {TOKEN_ENV}"
        raise IndexError_(f"the Chroma server at {chroma_url} {reason}")
    with warnings.catch_warnings():
        # Chroma hands a CA path to httpx as `verify=<str>`, which httpx deprecates.
        warnings.filterwarnings("ignore", "`verify=<str>`", DeprecationWarning)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (443 if https else 8000),
            ssl=https,
            settings=ChromaSettings(**options),
        )


def _identity_status(chroma_url: str, token: str | None, ca: Path | None) -> int | None:
    """The HTTP status of Chroma's identity endpoint with these credentials (None when the
    server cannot be reached: the Chroma client then reports that in its own words)."""
    import ssl

    import httpx

    verify: ssl.SSLContext | bool = True
    if ca is not None:
        verify = ssl.create_default_context(cafile=str(ca))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(verify=verify, timeout=10) as http:
            return http.get(f"{chroma_url}/api/v2/auth/identity", headers=headers).status_code
    except httpx.HTTPError:
        return None


class IndexLock:
    """An exclusive lock on an embedded index directory (no-op for a server)."""

    def __init__(self, data_dir: Path, enabled: bool = True) -> None:
        self.enabled = enabled
        self.path = data_dir / "index.lock"
        self._lock: FileLock | None = None

    def acquire(self, timeout: float = 0) -> None:
        """Take the lock within `timeout` seconds, else raise IndexLocked."""
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.path))
        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            self._lock = None
            raise IndexLocked(
                f"another process is using the index in {self.path.parent} (a running bot?). "
                "Use the bot's /reindex command, stop the bot first, or run with CHROMA_URL."
            ) from None

    def release(self) -> None:
        """Let go of the lock, if held."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> IndexLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@dataclass(frozen=True)
class Hit:
    """One query result; `similarity` is the cosine similarity (1 - Chroma's distance)."""

    id: str
    text: str
    metadata: dict[str, Any]
    similarity: float


class Collection:
    """One encoder's collection: upsert, delete, query, list by document."""

    def __init__(self, client: Any, encoder: str, dim: int, *, create: bool = True) -> None:
        name = collection_name(encoder)
        try:
            if create:
                self._col = client.get_or_create_collection(
                    name,
                    metadata={"encoder": encoder, "dim": dim, "schema": SCHEMA},
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            else:
                self._col = client.get_collection(name, embedding_function=None)
        except Exception as exc:
            if "does not exist" in str(exc).lower() or "not found" in str(exc).lower():
                raise IndexError_(
                    f"the index has no collection {name!r}: run `waypoint ingest` first"
                ) from None
            raise IndexError_(f"cannot open the index collection {name!r}: {exc}") from exc
        meta = self._col.metadata or {}
        if meta.get("encoder") != encoder or (dim and int(meta.get("dim", dim)) != dim):
            raise EncoderMismatch(
                f"the index collection {name!r} was built by encoder {meta.get('encoder')!r} "
                f"({meta.get('dim')} dimensions), not {encoder!r} ({dim}); "
                "run `waypoint ingest --rebuild`"
            )
        self.encoder = encoder
        self.dim = int(meta.get("dim", dim))

    def count(self) -> int:
        """How many entries (chunks) the collection holds."""
        return int(self._col.count())

    def upsert(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        batch: int = 1000,
    ) -> None:
        """Add or replace entries by id, `batch` at a time."""
        if vectors.shape[1:] != (self.dim,):
            raise EncoderMismatch(f"vectors of shape {vectors.shape} for a {self.dim}-d index")
        for start in range(0, len(ids), batch):
            end = start + batch
            self._col.upsert(
                ids=list(ids[start:end]),
                embeddings=vectors[start:end].tolist(),
                documents=list(texts[start:end]),
                metadatas=[_clean(m) for m in metadatas[start:end]],
            )

    def delete(self, ids: Sequence[str], batch: int = 1000) -> None:
        """Remove entries by id, `batch` at a time."""
        for start in range(0, len(ids), batch):
            self._col.delete(ids=list(ids[start : start + batch]))

    def entries(self, page: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every (id, text, metadata) in the collection, page by page."""
        offset = 0
        while True:
            got = self._col.get(include=["documents", "metadatas"], limit=page, offset=offset)
            ids = got["ids"]
            if not ids:
                return
            yield from zip(ids, got["documents"], got["metadatas"], strict=True)
            offset += len(ids)

    def vectors(self, where: dict[str, Any]) -> tuple[list[str], np.ndarray]:
        """Doc ids and stored vectors of the entries matching `where` (no re-encoding)."""
        got = self._col.get(where=where, include=["embeddings", "metadatas"])
        ids = [str(m.get("doc_id", i)) for i, m in zip(got["ids"], got["metadatas"], strict=True)]
        embeddings = got["embeddings"]
        if embeddings is None or not len(ids):
            return [], np.zeros((0, self.dim), dtype=np.float32)
        return ids, np.asarray(embeddings, dtype=np.float32).reshape(len(ids), self.dim)

    def file_state(self, page: int = 5000) -> dict[str, tuple[str, list[str]]]:
        """doc_id -> (file hash, chunk ids) of what the index holds now."""
        state: dict[str, tuple[str, list[str]]] = {}
        offset = 0
        while True:
            got = self._col.get(include=["metadatas"], limit=page, offset=offset)
            if not got["ids"]:
                return state
            for chunk_id, meta in zip(got["ids"], got["metadatas"], strict=True):
                doc_id = str(meta.get("doc_id"))
                file_hash, ids = state.get(doc_id, (str(meta.get("file_hash")), []))
                ids.append(chunk_id)
                state[doc_id] = (file_hash, ids)
            offset += len(got["ids"])

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[Hit]:
        """The `k` entries nearest `vector` (among those matching `where`), nearest first."""
        n = min(k, self.count())
        if n == 0:
            return []
        got = self._col.query(
            query_embeddings=[vector.tolist()],
            n_results=n,
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Hit(i, d, m, 1.0 - float(dist))
            for i, d, m, dist in zip(
                got["ids"][0],
                got["documents"][0],
                got["metadatas"][0],
                got["distances"][0],
                strict=True,
            )
        ]


def _clean(meta: dict[str, Any]) -> dict[str, Any]:
    """Chroma metadata: scalars or non-empty lists of one scalar type; drop empty values."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            if value:
                out[key] = [str(v) for v in value]
        else:
            out[key] = value
    return out


def open_collections(
    client: Any, encoders: dict[str, int], *, create: bool
) -> dict[str, Collection]:
    """One `Collection` per encoder (name -> dimension); `create` makes missing ones."""
    return {name: Collection(client, name, dim, create=create) for name, dim in encoders.items()}


def drop_collections(client: Any, names: Sequence[str]) -> None:
    """Delete the named encoders' collections; absent ones are skipped."""
    for name in names:
        try:
            client.delete_collection(collection_name(name))
        except Exception:  # absent already
            logger.debug("collection %s was absent", name)
