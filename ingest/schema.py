"""The contract between ingest and the answer engine: what one index entry carries.

Ingest writes entries with `ChunkMeta.to_metadata()`; the engine reads them back with
`ChunkMeta.from_metadata()`. Both also share `embed_text` (what an encoder sees for an entry)
and `parse_unit` (the parts of an answer unit: direct answer, do, don't, steps).

Three kinds of entries live in the index:

    document      a passage of a guide or report (quoted with its source link)
    unit          a whole answer unit (`knowledge/units/`): a short vetted answer or an
                  emergency protocol, shown in the user's language
    organization  one organization of the directory, in one language
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("document", "unit", "organization")
UNIT_KINDS = ("answer", "protocol")
SITUATIONS = ("raid", "detention", "device", "border", "threat")

_TRANSLATION = re.compile(r"\.([a-z]{2,3})(\.[a-z]+)$")


def translation_group(doc_id: str) -> str:
    """`units/x.ru.md` and `units/x.md` are one text in two languages: `units/x.md`."""
    return _TRANSLATION.sub(r"\2", doc_id)


@dataclass(frozen=True)
class ChunkMeta:
    """Typed metadata of one index entry (Chroma stores it as a flat mapping)."""

    kind: str
    doc_id: str
    title: str = ""
    source_url: str = ""
    topics: tuple[str, ...] = ()
    organizations: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    language: str = "en"
    section: str = ""
    reviewed: str | None = None
    published: str | None = None
    # answer units only
    unit_kind: str | None = None  # "answer" | "protocol"
    situation: str | None = None  # protocols: one of SITUATIONS
    question: str = ""
    asked: tuple[str, ...] = ()  # other phrasings of `question`
    sources: tuple[str, ...] = ()
    # organizations only
    org_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def group(self) -> str:
        """The id shared by a text and its translations."""
        return translation_group(self.doc_id)

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> ChunkMeta:
        """Read an entry's stored metadata; keys it does not know are kept in `extra`."""
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}

        def strs(key: str) -> tuple[str, ...]:
            value = meta.get(key) or ()
            return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)

        return cls(
            kind=str(meta.get("kind", "document")),
            doc_id=str(meta.get("doc_id", "")),
            title=str(meta.get("title") or ""),
            source_url=str(meta.get("source_url") or ""),
            topics=strs("topics"),
            organizations=strs("organizations"),
            regions=strs("regions"),
            language=str(meta.get("language") or "en"),
            section=str(meta.get("section") or ""),
            reviewed=_opt(meta.get("reviewed")),
            published=_opt(meta.get("published")),
            unit_kind=_opt(meta.get("unit_kind")),
            situation=_opt(meta.get("situation")),
            question=str(meta.get("question") or ""),
            asked=strs("asked"),
            sources=strs("sources"),
            org_id=_opt(meta.get("org_id")),
            extra={k: v for k, v in meta.items() if k not in known},
        )


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def embed_text(meta: Mapping[str, Any], text: str) -> str:
    """The text an encoder sees for an entry: title, section (or question), then the text."""
    if meta.get("kind") == "organization":
        return text
    head = " — ".join(
        str(p) for p in (meta.get("title"), meta.get("section") or meta.get("question")) if p
    )
    return f"{head}\n{text}" if head else text


@dataclass
class IngestSummary:
    """What one ingest run did (`waypoint ingest --json` prints it; its keys are a contract)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """The summary as a dict, seconds rounded to the millisecond."""
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data

    def to_json(self) -> str:
        """The summary as one JSON object."""
        return json.dumps(self.to_dict(), ensure_ascii=False)


# -- answer units ------------------------------------------------------------------------------

_SECTION = re.compile(r"^##\s*(do|don['’]?t|steps)\s*$", re.IGNORECASE | re.MULTILINE)
_ITEM = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


@dataclass(frozen=True)
class UnitParts:
    """An answer unit's body, cut at its `## Do`, `## Don't` and `## Steps` markers."""

    answer: str
    do: tuple[str, ...] = ()
    dont: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()


def parse_unit(body: str) -> UnitParts:
    """Split a unit body into its direct answer and its lists (markers stay English)."""
    parts = _SECTION.split(body)
    answer = _paragraph(parts[0])
    lists: dict[str, tuple[str, ...]] = {"do": (), "dont": (), "steps": ()}
    for name, text in zip(parts[1::2], parts[2::2], strict=True):
        key = name.lower().replace("’", "").replace("'", "")
        lists[key] = tuple(_items(text))
    return UnitParts(answer, lists["do"], lists["dont"], lists["steps"])


def _paragraph(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines()]
    return " ".join(line for line in lines if line and not line.startswith("#"))


def _items(text: str) -> list[str]:
    items: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if _ITEM.match(line) or not items:
            items.append(_ITEM.sub("", line).strip())
        else:  # a continuation line of the previous item
            items[-1] = f"{items[-1]} {line.strip()}"
    return [i for i in items if i]
