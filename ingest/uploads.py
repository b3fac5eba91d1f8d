"""Documents sent by staff through the bot: the caption's metadata, a safe file name, and the
review queue they wait in before they reach knowledge/.

An upload is staged under `<data dir>/pending/<id>/` (the file, with front matter written into
Markdown, and `upload.yaml`: name, metadata, uploader, time). `publish` moves it into
`knowledge/uploads/` with its sidecar, keeping any earlier version aside so that `withdraw`
can put it back if ingest rejects the new one; `discard` drops a staged upload.

Knows nothing of Telegram: the uploader is an opaque string (the bot passes a pseudonym).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from ingest.documents import SIDECAR
from ingest.metadata import MetadataError, load_organizations, parse_meta, topic_ids

UPLOAD_DIR = "uploads"  # under knowledge/
PENDING_DIR = "pending"  # under the data dir
RECORD = "upload.yaml"
PREVIOUS = "previous"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # what the Bot API's getFile can fetch
UPLOAD_SUFFIXES = (".pdf", ".docx", ".md", ".markdown", ".txt", ".html", ".htm")
MAX_STEM_CHARS = 80
_ID = re.compile(r"^[A-Za-z0-9_-]{8,24}$")
_CAPTION_KEYS = {
    "topic": "topics",
    "topics": "topics",
    "organization": "organizations",
    "organizations": "organizations",
    "orgs": "organizations",
    "title": "title",
    "language": "language",
    "lang": "language",
    "source": "source_url",
    "source_url": "source_url",
    "url": "source_url",
    "region": "regions",
    "regions": "regions",
}
_LISTS = {"topics", "organizations", "regions"}


class UploadError(ValueError):
    """The upload cannot be added; the message says why (for the admin)."""


def parse_caption(caption: str | None) -> dict[str, Any]:
    """`topics: visas, grants; organizations: x; title: …` -> metadata fields."""
    fields: dict[str, Any] = {}
    for part in re.split(r"[;\n]", caption or ""):
        key, sep, value = part.partition(":")
        if not sep:
            continue
        name = _CAPTION_KEYS.get(key.strip().lower())
        value = value.strip()
        if name is None or not value:
            continue
        if name in _LISTS:
            fields[name] = [v for v in re.split(r"[,\s]+", value.lower()) if v]
        else:
            fields[name] = value
    return fields


def safe_name(file_name: str | None) -> str:
    """A file name safe to write under uploads/: no path, ASCII letters, digits, `.-_` only.

    A name with letters outside ASCII (Cyrillic, Arabic…) gets a short digest of the original
    name, so "доклад.pdf" and "отчёт.pdf" stay two files, and sending the same name again
    replaces the same file.
    """
    base = os.path.basename((file_name or "").replace("\\", "/")).strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    kept = re.sub(r"[^\w.-]+", "-", stem, flags=re.ASCII).strip(".-")[:MAX_STEM_CHARS]
    if not stem.isascii() or not kept:
        digest = hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        kept = f"{kept}-{digest}" if kept else f"upload-{digest}"
    suffix = re.sub(r"[^A-Za-z0-9]", "", suffix).lower()
    return f"{kept}.{suffix}" if suffix else kept


def check_file(name: str, size: int | None) -> None:
    """Refuse what ingest could never read (UploadError)."""
    if not name.lower().endswith(UPLOAD_SUFFIXES):
        raise UploadError("send a PDF, DOCX, Markdown, TXT or HTML file")
    if (size or 0) > MAX_UPLOAD_BYTES:
        raise UploadError("the file is larger than 20 MB")


def _source_problems(url: str) -> list[str]:
    from ingest import check

    problems = getattr(check, "source_problems", None)
    return list(problems(url)) if callable(problems) else []


def build_meta(
    fields: dict[str, Any],
    name: str,
    today: dt.date,
    known_orgs: set[str] | None = None,
    topics: set[str] | None = None,
) -> dict[str, Any]:
    """The document's metadata, validated as ingest and `waypoint check` do (UploadError)."""
    if not fields.get("topics"):
        raise UploadError("add the topics to the caption, e.g. `topics: visas`")
    if not fields.get("source_url"):
        raise UploadError("add the source link to the caption, e.g. `source: https://…`")
    meta: dict[str, Any] = {
        "title": fields.get("title") or Path(name).stem.replace("-", " ").replace("_", " "),
        "source_url": fields["source_url"],
        "reviewed": today.isoformat(),
        "language": (fields.get("language") or "en").lower(),
        "topics": fields["topics"],
        "organizations": fields.get("organizations", []),
    }
    if fields.get("regions"):
        meta["regions"] = fields["regions"]
    try:
        parse_meta(meta, known_orgs, topics)
    except MetadataError as exc:
        raise UploadError(str(exc)) from None
    problems = _source_problems(meta["source_url"])
    if problems:
        raise UploadError("source: " + "; ".join(problems))
    return meta


def known_topics(knowledge_dir: Path) -> set[str] | None:
    """The topic ids of `topics.yaml` (None if it cannot be read)."""
    try:
        return topic_ids(knowledge_dir)
    except MetadataError:
        return None


def known_organizations(knowledge_dir: Path) -> set[str] | None:
    """The directory's organization ids (None if there is no readable directory)."""
    path = knowledge_dir / "organizations.yaml"
    if not path.is_file():
        return None
    try:
        return set(load_organizations(path))
    except MetadataError:
        return None


# -- the review queue ------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingUpload:
    """An upload waiting for an admin's approval."""

    id: str
    folder: Path
    name: str
    meta: dict[str, Any]
    uploader: str
    at: float

    @property
    def file(self) -> Path:
        """The uploaded file itself."""
        return self.folder / self.name

    @property
    def doc_id(self) -> str:
        """Its id in the index once published."""
        return f"{UPLOAD_DIR}/{self.name}"


@dataclass(frozen=True)
class Published:
    """Where a published upload went, and the earlier version kept aside (if any)."""

    target: Path
    previous: Path | None


def pending_root(data_dir: Path) -> Path:
    """The folder that holds one subfolder per upload awaiting review."""
    return data_dir / PENDING_DIR


def new_slot(data_dir: Path) -> tuple[str, Path]:
    """A fresh id and its (private) folder to download an upload into."""
    upload_id = secrets.token_urlsafe(9)
    folder = pending_root(data_dir) / upload_id
    folder.mkdir(parents=True, mode=0o700)
    return upload_id, folder


def stage(
    folder: Path, name: str, content: Path, meta: dict[str, Any], uploader: str
) -> PendingUpload:
    """Put the downloaded `content` in place in its pending folder, with its record."""
    target = folder / name
    header = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    if target.suffix.lower() in (".md", ".markdown"):
        try:
            text = content.read_text(encoding="utf-8-sig")
            if not frontmatter.loads(text).metadata:
                content.write_text(f"---\n{header}---\n\n{text}", encoding="utf-8")
        except (UnicodeDecodeError, yaml.YAMLError):
            pass  # ingest reports what is wrong with it
    os.replace(content, target)
    at = time.time()
    record = {"name": name, "meta": meta, "uploader": uploader, "at": at}
    (folder / RECORD).write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    return PendingUpload(folder.name, folder, name, meta, uploader, at)


def load_pending(data_dir: Path, upload_id: str) -> PendingUpload | None:
    """The staged upload with this id, or None (unknown, malformed or already handled)."""
    if not _ID.match(upload_id):
        return None
    folder = pending_root(data_dir) / upload_id
    try:
        record = yaml.safe_load((folder / RECORD).read_text(encoding="utf-8"))
        name = str(record["name"])
        pending = PendingUpload(
            upload_id, folder, name, dict(record["meta"]), str(record["uploader"]),
            float(record["at"]),
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError):
        return None
    if name != safe_name(name) or not pending.file.is_file():
        return None
    return pending


def publish(pending: PendingUpload, knowledge_dir: Path) -> Published:
    """Move the upload into knowledge/uploads/ with its sidecar; keep an earlier one aside."""
    folder = knowledge_dir / UPLOAD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / pending.name
    sidecar = target.with_name(target.name + SIDECAR)
    previous = None
    if target.exists():
        previous = pending.folder / PREVIOUS
        previous.mkdir(exist_ok=True)
        _move(target, previous / target.name)
        if sidecar.exists():
            _move(sidecar, previous / sidecar.name)
    _move(pending.file, target)
    header = yaml.safe_dump(pending.meta, allow_unicode=True, sort_keys=False)
    _write(sidecar, header)
    return Published(target, previous)


def withdraw(published: Published) -> None:
    """Take a published upload back out, restoring the earlier version if there was one."""
    target = published.target
    sidecar = target.with_name(target.name + SIDECAR)
    target.unlink(missing_ok=True)
    sidecar.unlink(missing_ok=True)
    if published.previous is not None:
        for kept in published.previous.iterdir():
            _move(kept, target.parent / kept.name)


def discard(pending: PendingUpload) -> None:
    """Forget a staged upload (rejected, or done with)."""
    shutil.rmtree(pending.folder, ignore_errors=True)


def _move(source: Path, destination: Path) -> None:
    """Move a file, also across file systems (the data dir is often its own volume)."""
    part = destination.with_name(f".{destination.name}.part")
    shutil.copyfile(source, part)
    os.replace(part, destination)
    source.unlink()


def _write(path: Path, text: str) -> None:
    part = path.with_name(f".{path.name}.part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)
