"""Text out of a file, under one limit on its length for every format.

`parse_bytes` reads the untrusted formats (PDF, DOCX, HTML) and runs inside the worker process
of `ingest.documents.Loader`: page and zip-ratio checks come before any parser, DOCX parts that
declare XML entities are refused, and HTML loses its scripts and the elements it hides. Its
errors come back as text tagged with `ERROR_TAG`, so only strings cross the process boundary.
`read_text` reads Markdown and plain text in the main process under the same limit.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from ingest.errors import DocumentError

MAX_TEXT_CHARS = 2_000_000
MAX_PDF_PAGES = 500
MAX_DOCX_UNZIPPED = 50 * 1024 * 1024
MAX_DOCX_RATIO = 100
ERROR_TAG = "\0error\0"  # a parse error's reason follows it; no extracted text starts so


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
        return ERROR_TAG + str(exc)
    except MemoryError:
        return ERROR_TAG + "parsing ran out of memory"
    except Exception as exc:  # a corrupt file can raise anything from the parser
        return ERROR_TAG + f"unreadable {fmt.upper()} ({type(exc).__name__}: {str(exc)[:120]})"
    if not text.strip():
        return ERROR_TAG + f"no text found in the {fmt.upper()} (scanned images need OCR first)"
    if len(text) > MAX_TEXT_CHARS:
        return ERROR_TAG + f"the text is longer than {MAX_TEXT_CHARS:,} characters"
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


def read_text(path: Path, doc_id: str) -> str:
    """A Markdown or text file, under the same text limit as the parsed formats."""
    too_long = DocumentError(doc_id, f"the text is longer than {MAX_TEXT_CHARS:,} characters")
    if path.stat().st_size > 4 * MAX_TEXT_CHARS:  # more characters than that, whatever the bytes
        raise too_long
    text = _decode_text(path.read_bytes(), doc_id)
    if len(text) > MAX_TEXT_CHARS:
        raise too_long
    return text
