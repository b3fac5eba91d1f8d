"""The incremental ingest run: hash, load, validate, split, embed, upsert, delete, summarise.

Unchanged files (same sha256 of file + sidecar as recorded on their chunks) cost no
embedding. A changed file's new chunks are written before its stale ones are deleted, and
a file that fails keeps its previous chunks, so the index never holds a half-written file.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from ingest.documents import Loader, RawDocument, discover, doc_id_for, file_hash
from ingest.encoders import Encoder
from ingest.errors import DocumentError
from ingest.index import Collection, drop_collections, open_collections
from ingest.metadata import (
    TOPICS_FILE,
    DocMeta,
    MetadataError,
    Organization,
    load_organizations,
    parse_meta,
    topic_ids,
)
from ingest.schema import IngestSummary, embed_text, parse_unit

logger = logging.getLogger(__name__)

ORGANIZATIONS_FILE = "organizations.yaml"
# Bump when loading or splitting changes what a file becomes: every file is then re-indexed.
PIPELINE_VERSION = 3
CHUNK_CHARS = 900
CHUNK_OVERLAP = 120
EMBED_BATCH_CHUNKS = 256


@dataclass(frozen=True)
class Chunk:
    """One indexed piece of a file: a stable id, its texts, and the metadata every chunk carries."""

    id: str
    text: str  # what is quoted to users
    embed_text: str  # what is embedded and matched lexically (title and section included)
    metadata: dict[str, Any]


def content_hash(path: Path) -> str:
    """What decides whether a file must be re-indexed: its bytes, sidecar and our version."""
    return f"v{PIPELINE_VERSION}:{file_hash(path)}"


_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]


def split(doc: RawDocument, meta: DocMeta, digest: str) -> list[Chunk]:
    """Heading-aware split (Markdown headings) then size-bounded pieces with stable ids."""
    sections = MarkdownHeaderTextSplitter(_HEADERS, strip_headers=True).split_text(doc.text)
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_CHARS,
        chunk_overlap=CHUNK_OVERLAP,
        separators=["\n\n", "\n", ". ", "。", "? ", "! ", "; ", ", ", " ", ""],
    )
    base = {
        "kind": "document",
        "doc_id": doc.doc_id,
        "source_path": doc.doc_id,
        "title": meta.title,
        "source_url": meta.source_url,
        "topics": meta.topics,
        "organizations": meta.organizations,
        "regions": meta.regions,
        "language": meta.language,
        "reviewed": meta.reviewed,
        "published": meta.published,
        "file_hash": digest,
    }
    if meta.kind is not None:  # an answer unit is indexed whole: it is shown whole
        return [unit_chunk(doc, meta, base)]
    chunks: list[Chunk] = []
    for section in sections:
        heading = " / ".join(
            section.metadata[k] for k in ("h1", "h2", "h3") if section.metadata.get(k)
        )
        for piece in splitter.split_text(section.page_content):
            text = piece.strip()
            if len(text) < 20 or _mostly_links(text):
                continue
            n = len(chunks)
            metadata = dict(base, section=heading, chunk_index=n)
            metadata["content_hash"] = hashlib.sha256(text.encode()).hexdigest()[:16]
            chunks.append(Chunk(f"{doc.doc_id}#{n}", text, embed_text(metadata, text), metadata))
    if not chunks:
        raise DocumentError(doc.doc_id, "no text to index after splitting")
    return chunks


def unit_chunk(doc: RawDocument, meta: DocMeta, base: dict[str, Any]) -> Chunk:
    """One entry for a whole answer unit; its direct answer must not be empty."""
    body = doc.text.strip()
    parts = parse_unit(body)
    if not parts.answer and not parts.steps:
        raise DocumentError(doc.doc_id, "an answer unit needs a direct answer or ## Steps")
    if meta.kind == "protocol" and (not meta.situation or not parts.steps):
        raise DocumentError(doc.doc_id, "a protocol needs `situation:` and a ## Steps section")
    metadata = dict(
        base,
        kind="unit",
        unit_kind=meta.kind,
        situation=meta.situation,
        question=meta.question or "",
        asked=meta.asked,
        sources=meta.sources,
        section="",
        chunk_index=0,
    )
    metadata["content_hash"] = hashlib.sha256(body.encode()).hexdigest()[:16]
    return Chunk(f"{doc.doc_id}#0", body, embed_text(metadata, body), metadata)


_LINK = re.compile(r"https?://\S+")


def _mostly_links(text: str) -> bool:
    """A list of source URLs is metadata, not a passage worth quoting."""
    links = _LINK.findall(text)
    return bool(links) and sum(map(len, links)) > 0.6 * len(text)


def organization_chunks(orgs: dict[str, Organization], digest: str) -> list[Chunk]:
    """One entry per organization and language, so questions can match an organization."""
    chunks: list[Chunk] = []
    for org in orgs.values():
        languages = ["en", *(lang for lang in org.i18n if lang != "en")]
        for lang in languages:
            text = org.search_text(lang)
            metadata = {
                "kind": "organization",
                "doc_id": ORGANIZATIONS_FILE,
                "source_path": ORGANIZATIONS_FILE,
                "org_id": org.id,
                "status": org.status,
                "title": org.name,
                "source_url": org.url,
                "topics": list(org.topics),
                "organizations": [org.id],
                "regions": list(org.regions),
                "language": lang,
                "file_hash": digest,
                "chunk_index": len(chunks),
                "content_hash": hashlib.sha256(text.encode()).hexdigest()[:16],
            }
            chunks.append(Chunk(f"org:{org.id}:{lang}", text, text, metadata))
    return chunks


Unit = tuple[str, str, Callable[[], list[Chunk]]]  # (doc_id, known hash or "", chunk builder)


class Ingestor:
    """Brings the index in line with `knowledge/`."""

    def __init__(
        self,
        knowledge_dir: Path,
        client: Any,
        encoders: dict[str, Encoder],
        loader: Loader | None = None,
    ) -> None:
        self.root = knowledge_dir
        self.client = client
        self.encoders = encoders
        self.loader = loader or Loader()

    def run(
        self,
        *,
        rebuild: bool = False,
        dry_run: bool = False,
        progress: Callable[[list[Unit]], Iterable[Unit]] | None = None,
    ) -> IngestSummary:
        """Index what changed (everything with `rebuild`), delete what disappeared, and count."""
        started = time.perf_counter()
        summary = IngestSummary()
        if not self.root.is_dir():
            summary.failed = 1
            summary.errors.append({"file": str(self.root), "reason": "knowledge folder not found"})
            return summary
        try:  # the vocabulary every document and organization is checked against
            topics = topic_ids(self.root)
        except MetadataError as exc:  # without it nothing can be validated: change nothing
            summary.failed = 1
            summary.errors.append({"file": TOPICS_FILE, "reason": str(exc)})
            return summary
        if rebuild and not dry_run:
            drop_collections(self.client, list(self.encoders))
        dims = {name: enc.dim for name, enc in self.encoders.items()}
        collections = open_collections(self.client, dims, create=not dry_run)
        state = _merged_state(collections.values())

        orgs_path = self.root / ORGANIZATIONS_FILE
        known_orgs: set[str] | None = None
        units: list[Unit] = []
        if orgs_path.is_file():
            digest = content_hash(orgs_path)
            try:
                orgs = load_organizations(orgs_path, topics)
                known_orgs = set(orgs)
                units.append(
                    (ORGANIZATIONS_FILE, digest, lambda: organization_chunks(orgs, digest))
                )
            except MetadataError as exc:
                summary.failed += 1
                summary.errors.append({"file": ORGANIZATIONS_FILE, "reason": str(exc)})
                state.pop(ORGANIZATIONS_FILE, None)  # keep its previous entries

        for path in discover(self.root):
            doc_id = doc_id_for(path, self.root)
            units.append(
                (doc_id, "", functools.partial(self._chunks_for, path, known_orgs, topics))
            )

        present = {doc_id for doc_id, _, _ in units}
        pending: list[tuple[str, bool, list[Chunk], list[str]]] = []
        iterator: Iterable[Unit] = units
        if progress is not None:
            iterator = progress(units)
        try:
            for doc_id, digest, build in iterator:
                old_hash, old_ids = state.get(doc_id, (None, []))
                if not digest:
                    try:
                        digest = content_hash(self.root / doc_id)
                    except OSError as exc:
                        summary.failed += 1
                        summary.errors.append({"file": doc_id, "reason": str(exc)})
                        continue
                if old_hash == digest and not rebuild:
                    summary.unchanged += 1
                    continue
                try:
                    chunks = build()
                except DocumentError as exc:
                    summary.failed += 1
                    summary.errors.append({"file": exc.file, "reason": exc.reason})
                    continue
                for chunk in chunks:
                    chunk.metadata["file_hash"] = digest
                if dry_run:
                    self._count(summary, old_ids)
                    summary.chunks_embedded += len(chunks)
                    continue
                pending.append((doc_id, bool(old_ids), chunks, old_ids))
                if sum(len(c) for _, _, c, _ in pending) >= EMBED_BATCH_CHUNKS:
                    self._flush(pending, collections, summary)
            if not dry_run:
                self._flush(pending, collections, summary)
        finally:
            self.loader.close()

        for doc_id, (_, old_ids) in state.items():
            if doc_id not in present and not _kept_on_error(doc_id, summary):
                summary.removed += 1
                if not dry_run:
                    for collection in collections.values():
                        collection.delete(old_ids)
        summary.chunks_total = next(iter(collections.values())).count() if collections else 0
        summary.seconds = time.perf_counter() - started
        return summary

    def _chunks_for(
        self, path: Path, known_orgs: set[str] | None, topics: set[str]
    ) -> list[Chunk]:
        doc = self.loader.load(path, self.root)
        try:
            meta = parse_meta(doc.meta, known_orgs, topics)
        except MetadataError as exc:
            raise DocumentError(doc.doc_id, f"metadata: {exc}") from None
        return split(doc, meta, "")

    @staticmethod
    def _count(summary: IngestSummary, old_ids: list[str]) -> None:
        if old_ids:
            summary.updated += 1
        else:
            summary.added += 1

    def _flush(
        self,
        pending: list[tuple[str, bool, list[Chunk], list[str]]],
        collections: dict[str, Collection],
        summary: IngestSummary,
    ) -> None:
        if not pending:
            return
        chunks = [c for _, _, cs, _ in pending for c in cs]
        texts = [c.embed_text for c in chunks]
        vectors = {name: enc.encode(texts) for name, enc in self.encoders.items()}
        summary.chunks_embedded += len(chunks)
        start = 0
        for doc_id, _, doc_chunks, old_ids in pending:
            end = start + len(doc_chunks)
            ids = [c.id for c in doc_chunks]
            for name, collection in collections.items():
                collection.upsert(
                    ids,
                    vectors[name][start:end],
                    [c.text for c in doc_chunks],
                    [c.metadata for c in doc_chunks],
                )
                stale = sorted(set(old_ids) - set(ids))
                if stale:
                    collection.delete(stale)
            self._count(summary, old_ids)
            logger.debug("indexed %s (%d chunks)", doc_id, len(doc_chunks))
            start = end
        pending.clear()


def _merged_state(collections: Iterable[Collection]) -> dict[str, tuple[str | None, list[str]]]:
    """doc_id -> (hash, ids); a document whose collections disagree counts as changed."""
    merged: dict[str, tuple[str | None, list[str]]] = {}
    cols = list(collections)
    for n, collection in enumerate(cols):
        for doc_id, (digest, ids) in collection.file_state().items():
            if doc_id not in merged:
                merged[doc_id] = (digest if n == 0 else None, ids)
                continue
            old_digest, old_ids = merged[doc_id]
            merged[doc_id] = (
                old_digest if old_digest == digest else None,
                sorted(set(old_ids) | set(ids)),
            )
    if len(cols) > 1:
        first_ids = {d for d in cols[0].file_state()}
        for doc_id in list(merged):
            if doc_id not in first_ids:
                merged[doc_id] = (None, merged[doc_id][1])
    return merged


def _kept_on_error(doc_id: str, summary: IngestSummary) -> bool:
    return any(e["file"] == doc_id for e in summary.errors)


def read_yaml(path: Path) -> Any:
    """The YAML in a UTF-8 file, parsed safely."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))
