"""Load Markdown, text, HTML, PDF and DOCX files into text plus metadata, under limits.

Parsing untrusted formats (PDF, DOCX, HTML) runs in a separate worker process with a
memory cap and a time limit, so a bomb or a pathological file costs that file only.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import io
import logging
import multiprocessing
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from ingest.errors import DocumentError

logger = logging.getLogger(__name__)
SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
SIDECAR = ".meta.yaml"
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_TEXT_CHARS = 2_000_000
MAX_PDF_PAGES = 500
MAX_DOCX_UNZIPPED = 50 * 1024 * 1024
MAX_DOCX_RATIO = 100
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
    return path.with_name(path.name + SIDECAR)


def doc_id_for(path: Path, root: Path) -> str:
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
            return RawDocument(doc_id, _read_text(path, doc_id), sidecar, "text")
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
        if isinstance(result, str) and result.startswith("\0error\0"):
            raise DocumentError(doc_id, result.removeprefix("\0error\0"))
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


def parse_bytes(fmt: str, data: bytes) -> str:
    """Extract text (runs in the worker). Errors come back as a tagged string."""
    try:
        if fmt == "pdf":
            text = _pdf_text(data)
        elif fmt == "docx":
            text = _docx_text(data)
        else:
            text = _html_text(_decode_text(data, "html"))
    except _ParseError as exc:
        return f"\0error\0{exc}"
    except MemoryError:
        return "\0error\0parsing ran out of memory"
    except Exception as exc:  # a corrupt file can raise anything from the parser
        return f"\0error\0unreadable {fmt.upper()} ({type(exc).__name__}: {str(exc)[:120]})"
    if not text.strip():
        return f"\0error\0no text found in the {fmt.upper()} (scanned images need OCR first)"
    if len(text) > MAX_TEXT_CHARS:
        return f"\0error\0the text is longer than {MAX_TEXT_CHARS:,} characters"
    return text


class _ParseError(Exception):
    pass


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        raise _ParseError("the PDF is encrypted; save an unprotected copy")
    if len(reader.pages) > MAX_PDF_PAGES:
        raise _ParseError(f"the PDF has {len(reader.pages)} pages; the limit is {MAX_PDF_PAGES}")
    pages = []
    total = 0
    for page in reader.pages:
        text = page.extract_text() or ""
        total += len(text)
        if total > MAX_TEXT_CHARS:
            raise _ParseError(f"the text is longer than {MAX_TEXT_CHARS:,} characters")
        pages.append(text)
    return "\n\n".join(pages)


def _docx_text(data: bytes) -> str:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _ParseError("not a valid DOCX (it is not a zip archive)") from None
    infos = archive.infolist()
    unzipped = sum(i.file_size for i in infos)
    if unzipped > MAX_DOCX_UNZIPPED or unzipped > MAX_DOCX_RATIO * max(len(data), 1):
        raise _ParseError("the DOCX expands to too much data (a zip bomb?)")
    for info in infos:
        if not info.filename.lower().endswith(_DOCX_MEDIA) and _declares_entities(
            archive.read(info)
        ):
            raise _ParseError("the DOCX contains XML entity declarations (refused for safety)")
    import docx

    document = docx.Document(io.BytesIO(data))
    parts = []
    for paragraph in document.paragraphs:
        text = paragraph.text.strip()
        if not text:
            continue
        style = (paragraph.style.name or "").lower() if paragraph.style is not None else ""
        if style.startswith("heading"):
            level = "".join(ch for ch in style if ch.isdigit()) or "2"
            parts.append("#" * min(int(level) + 1, 4) + " " + text)
        else:
            parts.append(text)
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text.strip() for cell in row.cells))
    return "\n\n".join(parts)


_DOCX_MEDIA = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf", ".svgz")
_DECLARATION = re.compile(rb"<!\s*(?:doctype|entity)", re.IGNORECASE)


def _declares_entities(part: bytes) -> bool:
    """A DOCTYPE or ENTITY declaration anywhere in an XML part, in UTF-8 or UTF-16/32."""
    if _DECLARATION.search(part):
        return True
    if b"\0" in part[:512]:  # a wide encoding: look at the decoded text too
        for encoding in ("utf-16", "utf-32", "utf-16-le", "utf-16-be"):
            text = part.decode(encoding, errors="ignore")
            if _DECLARATION.search(text.encode("utf-8", errors="ignore")):
                return True
    return False


_HIDING_VALUES = {
    "display": ("none",),
    "visibility": ("hidden", "collapse"),
}


def _hidden_style(style: str) -> bool:
    """True when inline CSS hides the element (display, visibility, zero size or opacity)."""
    for declaration in style.lower().split(";"):
        name, colon, value = declaration.partition(":")
        if not colon:
            continue
        name = name.strip()
        value = value.replace("!important", "").strip()
        if value in _HIDING_VALUES.get(name, ()):
            return True
        if name in ("font-size", "opacity") and _zero(value):
            return True
    return False


def _zero(value: str) -> bool:
    number = value[: len(value) - len(value.lstrip("+-0123456789."))]
    try:
        return bool(number) and float(number) == 0
    except ValueError:
        return False


def _hiding_selectors(css: str) -> list[str]:
    """`.class` and `#id` selectors that a <style> block hides (read with plain splits)."""
    out = []
    for rule in css.split("}"):
        selectors, brace, body = rule.partition("{")
        if not brace or not _hidden_style(body):
            continue
        for selector in selectors.split(","):
            selector = selector.strip()
            name = selector[1:].replace("-", "").replace("_", "")
            if selector[:1] in (".", "#") and name.isalnum():
                out.append(selector)
    return out


def _html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    hiding = [s for style in soup("style") for s in _hiding_selectors(style.get_text())]
    for tag in soup(["script", "style", "noscript", "template", "iframe", "svg"]):
        tag.decompose()
    # Hidden elements are a classic place for injected instructions: drop them (the hidden
    # attribute, aria-hidden, inline CSS in any case and spacing, classes a <style> hides).
    for tag in soup.find_all(True):
        if tag.decomposed:
            continue
        aria = str(tag.get("aria-hidden") or "").strip().lower()
        if tag.has_attr("hidden") or aria == "true" or _hidden_style(str(tag.get("style") or "")):
            tag.decompose()
    for selector in hiding:
        for tag in soup.select(selector):
            tag.decompose()
    lines = []
    for element in soup.find_all(["h1", "h2", "h3", "h4", "p", "li", "td", "pre", "blockquote"]):
        text = " ".join(element.get_text(" ", strip=True).split())
        if not text:
            continue
        if element.name in ("h1", "h2", "h3", "h4"):
            lines.append(
                "#" * (int(element.name[1]) + (0 if element.name != "h1" else 1)) + " " + text
            )
        else:
            lines.append(text)
    if not lines:
        lines = [" ".join(soup.get_text(" ", strip=True).split())]
    return "\n\n".join(lines)


def _decode_text(data: bytes, doc_id: str) -> str:
    if b"\0" in data[:8192]:
        raise DocumentError(doc_id, "binary data, not text (NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(doc_id, f"not UTF-8 text (byte {exc.start})") from None
    control = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if control > 16:
        raise DocumentError(doc_id, "binary data, not text (control characters)")
    return text


def _read_text(path: Path, doc_id: str) -> str:
    """A Markdown or text file, under the same text limit as the parsed formats."""
    too_long = DocumentError(doc_id, f"the text is longer than {MAX_TEXT_CHARS:,} characters")
    if path.stat().st_size > 4 * MAX_TEXT_CHARS:  # more characters than that, whatever the bytes
        raise too_long
    text = _decode_text(path.read_bytes(), doc_id)
    if len(text) > MAX_TEXT_CHARS:
        raise too_long
    return text


def _load_markdown(path: Path, doc_id: str) -> RawDocument:
    text = _read_text(path, doc_id)
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
