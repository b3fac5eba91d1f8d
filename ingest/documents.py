"""Find and load Markdown, text, HTML, PDF and DOCX files as text plus metadata, under limits.

Parsing untrusted formats (PDF, DOCX, HTML) runs in a separate worker process with a
memory cap and a time limit, so a bomb or a pathological file costs that file only. The text
itself is extracted by `ingest.extract`; metadata comes from front matter or a sidecar.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import logging
import multiprocessing
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from ingest.errors import DocumentError
from ingest.extract import ERROR_TAG, parse_bytes, read_text

logger = logging.getLogger(__name__)
SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
SIDECAR = ".meta.yaml"
MAX_FILE_BYTES = 20 * 1024 * 1024
PARSE_SECONDS = 30.0
WORKER_MEMORY_BYTES = 1536 * 1024 * 1024


@dataclass(frozen=True)
class RawDocument:
    """A file's text and its unvalidated metadata."""

    doc_id: str  # path relative to knowledge/, with forward slashes
    text: str
    meta: dict[str, Any]
    fmt: str  # "markdown" | "text" | "html" | "pdf" | "docx"


def discover(root: Path) -> list[Path]:
    """Every document file under `root` (not sidecars, the YAML data or the staff README).

    Symbolic links below `root` (to files or folders) are skipped with a warning: a link to
    `../data/secret.key` would otherwise be indexed and quoted to anyone who asks. `root`
    itself may be a link (a mounted volume)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for name in sorted(dirnames):
            if (here / name).is_symlink():
                logger.warning("skipped %s: a symbolic link", (here / name).relative_to(root))
                dirnames.remove(name)
        dirnames.sort()
        for name in filenames:
            path = here / name
            if name.startswith(".") or name.endswith(SIDECAR):
                continue
            if path.suffix.lower() not in SUFFIXES:
                continue
            if here == root and name.lower() == "readme.md":
                continue
            if path.is_symlink():
                logger.warning("skipped %s: a symbolic link", path.relative_to(root))
                continue
            if path.is_file():
                found.append(path)
    return sorted(found)


def _linked(path: Path, root: Path) -> bool:
    """True when `path` or a folder between `root` and it is a symbolic link."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return True
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            return True
    return False


def file_hash(path: Path) -> str:
    """sha256 of the file and its sidecar: what decides whether a file changed."""
    digest = hashlib.sha256()
    digest.update(path.read_bytes())
    sidecar = sidecar_path(path)
    if sidecar.is_file() and not sidecar.is_symlink():
        digest.update(b"\0sidecar\0")
        digest.update(sidecar.read_bytes())
    return digest.hexdigest()


def sidecar_path(path: Path) -> Path:
    """Where the metadata of a file without front matter lives: `<file>.meta.yaml`."""
    return path.with_name(path.name + SIDECAR)


def doc_id_for(path: Path, root: Path) -> str:
    """A file's id: its path under `root`, with forward slashes."""
    return path.relative_to(root).as_posix()


class Loader:
    """Loads files; the untrusted formats go through one worker process with limits."""

    def __init__(self, timeout: float = PARSE_SECONDS) -> None:
        self.timeout = timeout
        self._pool: cf.ProcessPoolExecutor | None = None

    def __enter__(self) -> Loader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker process, if one was started."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def load(self, path: Path, root: Path) -> RawDocument:
        """Load one file or raise DocumentError with the reason."""
        doc_id = doc_id_for(path, root)
        if _linked(path, root):
            raise DocumentError(doc_id, "a symbolic link (only real files are indexed)")
        size = path.stat().st_size
        if size == 0:
            raise DocumentError(doc_id, "the file is empty")
        if size > MAX_FILE_BYTES:
            raise DocumentError(
                doc_id,
                f"the file is {size / 1e6:.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB",
            )
        suffix = path.suffix.lower()
        if suffix in (".md", ".markdown"):
            return _load_markdown(path, doc_id)
        sidecar = _read_sidecar(path, doc_id)
        if suffix == ".txt":
            return RawDocument(doc_id, read_text(path, doc_id), sidecar, "text")
        fmt = {".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}[suffix]
        text = self._parse_isolated(fmt, path, doc_id)
        return RawDocument(doc_id, text, sidecar, fmt)

    def _parse_isolated(self, fmt: str, path: Path, doc_id: str) -> str:
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = cf.ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_limit)
        future = self._pool.submit(parse_bytes, fmt, path.read_bytes())
        try:
            result = future.result(timeout=self.timeout)
        except cf.TimeoutError:
            self._kill_pool()
            raise DocumentError(doc_id, f"parsing took longer than {self.timeout:.0f} s") from None
        except cf.process.BrokenProcessPool:
            self._kill_pool()
            raise DocumentError(doc_id, "parsing ran out of memory or crashed") from None
        except MemoryError:
            self._kill_pool()
            raise DocumentError(doc_id, "parsing ran out of memory") from None
        if isinstance(result, str) and result.startswith(ERROR_TAG):
            raise DocumentError(doc_id, result.removeprefix(ERROR_TAG))
        return result

    def _kill_pool(self) -> None:
        if self._pool is not None:
            for proc in list(getattr(self._pool, "_processes", {}).values()):
                proc.kill()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _limit() -> None:
    """Cap the worker's address space so a decompression bomb fails inside it."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))


def _load_markdown(path: Path, doc_id: str) -> RawDocument:
    text = read_text(path, doc_id)
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        reason = str(exc).splitlines()[0]
        raise DocumentError(doc_id, f"malformed front matter ({reason})") from None
    meta = dict(post.metadata)
    if not meta:
        if not sidecar_path(path).is_file() or sidecar_path(path).is_symlink():
            raise DocumentError(doc_id, "no front matter (title, source_url, topics…)")
        meta = _read_sidecar(path, doc_id)
    return RawDocument(doc_id, post.content, meta, "markdown")


def _read_sidecar(path: Path, doc_id: str) -> dict[str, Any]:
    sidecar = sidecar_path(path)
    if sidecar.is_symlink():
        raise DocumentError(doc_id, f"{sidecar.name} is a symbolic link (only real files are read)")
    if not sidecar.is_file():
        raise DocumentError(doc_id, f"no metadata: add {sidecar.name} next to it")
    try:
        data = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DocumentError(
            doc_id, f"malformed {sidecar.name} ({str(exc).splitlines()[0]})"
        ) from None
    if not isinstance(data, dict):
        raise DocumentError(doc_id, f"{sidecar.name} must be a mapping of keys to values")
    return data
