"""Telegram HTML: escaping, links, UTF-16 lengths, packing blocks into messages within
Telegram's limit, splitting over-long blocks without cutting a tag or an entity, and the
plain-text view of a message (the terminal chat and `waypoint eval` read it).

Every dynamic piece is escaped; the only markup is ours. Messages are built from blocks (a
paragraph each) packed greedily; a block too long for one message is split at a line, then a
word boundary, closing its open tags at the cut and reopening them in the next message.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

MAX_UNITS = 4096  # Telegram's limit for one text message, in UTF-16 code units
MAX_URL_CHARS = 1024

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_TOKEN = re.compile(r"<[^>]*>|&[#A-Za-z0-9]+;|[^<&]+|[<&]")
_TAG_NAME = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)")
def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts it (an emoji is usually two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean(text: str) -> str:
    """Drop control characters and lone surrogates Telegram would refuse, and bidi overrides."""
    return _CONTROL.sub("", text)


def esc(text: str) -> str:
    """Text as safe Telegram HTML content."""
    return html.escape(clean(text), quote=False)


def attr(text: str) -> str:
    """Text as a safe double-quoted attribute value."""
    return esc(text).replace('"', "&quot;")


def link(url: str, label: str) -> str:
    """An <a> for http(s) URLs of sane length, else the escaped label alone."""
    url = clean(url).strip()
    if url.startswith(("https://", "http://")) and len(url) <= MAX_URL_CHARS and " " not in url:
        return f'<a href="{attr(url)}">{esc(label)}</a>'
    return esc(label)


# -- packing and splitting --------------------------------------------------------------------


def pack(blocks: Iterable[str], limit: int = MAX_UNITS) -> list[str]:
    """Join blocks with blank lines into as few messages as fit; split over-long blocks."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        for piece in split_block(block, limit):
            candidate = f"{current}\n\n{piece}" if current else piece
            if units(candidate) <= limit:
                current = candidate
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return [m for m in messages if _visible(m).strip()]


def split_block(block: str, limit: int = MAX_UNITS) -> list[str]:
    """Cut one HTML block into pieces within `limit`, never inside a tag or an entity."""
    block = block.strip()
    if units(block) <= limit:
        return [block] if block else []
    pieces: list[str] = []
    stack: list[tuple[str, str]] = []  # (tag name, its start tag) of the open elements
    buf = ""

    def closing() -> str:
        return "".join(f"</{name}>" for name, _ in reversed(stack))

    def opening() -> str:
        return "".join(tag for _, tag in stack)

    def flush() -> None:
        nonlocal buf
        if buf != opening():
            pieces.append(buf + closing())
        buf = opening()

    for token in _TOKEN.findall(block):
        if token.startswith("</"):
            buf += token
            if stack:
                stack.pop()
            continue
        if token.startswith("<") and len(token) > 1:
            match = _TAG_NAME.match(token)
            name = match.group(1).lower() if match else "span"
            if units(buf) + units(token) + units(f"</{name}>") + units(closing()) > limit:
                flush()
            buf += token
            stack.append((name, token))
            continue
        rest = token
        while rest:
            room = limit - units(buf) - units(closing())
            if units(rest) <= room:
                buf += rest
                break
            if token.startswith("&"):  # an entity is atomic
                flush()
                buf += rest
                break
            cut = _cut(rest, room)
            if cut == 0:
                if buf == opening():  # nothing fits even in an empty piece: cut anyway
                    cut = max(1, _cut(rest, max(room, 1), boundaries=False))
                else:
                    flush()
                    continue
            buf += rest[:cut]
            rest = rest[cut:]
            flush()
            rest = rest.lstrip(" ")
    if buf != opening():
        pieces.append(buf + closing())
    return [p.strip() for p in pieces if _visible(p).strip()]


def clip(text: str, limit: int = MAX_UNITS) -> str:
    """Plain text cut to `limit` UTF-16 units (at a space when there is one near the end)."""
    return text if units(text) <= limit else text[: _cut(text, limit)].rstrip()


def _cut(text: str, room: int, *, boundaries: bool = True) -> int:
    """How many characters of `text` to keep in `room` units: up to a newline, a space, or any."""
    if room <= 0:
        return 0
    keep, used = 0, 0
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > room:
            break
        keep += 1
    if keep >= len(text) or not boundaries:
        return keep
    head = text[:keep]
    for sep in ("\n", " "):
        at = head.rfind(sep)
        if at > keep // 3:
            return at + 1
    return keep


# -- plain text ---------------------------------------------------------------------------------


_A = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.DOTALL)
_QUOTE = re.compile(r"<blockquote>(.*?)</blockquote>", re.DOTALL)
_TAGS = re.compile(r"<[^>]*>")


def _visible(text: str) -> str:
    """What Telegram shows of an HTML message: the text without tags."""
    return html.unescape(_TAGS.sub("", text))


def to_plain(text: str) -> str:
    """Telegram HTML as terminal text: links as "title (url)", quotes indented."""

    def link(m: re.Match[str]) -> str:
        url, label = html.unescape(m.group(1)), m.group(2)
        return label if html.unescape(_TAGS.sub("", label)) == url else f"{label} ({m.group(1)})"

    def quote(m: re.Match[str]) -> str:
        return "\n".join("  │ " + line for line in m.group(1).strip("\n").split("\n"))

    text = _A.sub(link, text)
    text = _QUOTE.sub(quote, text)
    return html.unescape(_TAGS.sub("", text))

