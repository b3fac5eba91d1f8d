"""Document metadata (front matter or sidecar), the topic vocabulary, the organizations."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from ingest.languages import CODES
from ingest.schema import SITUATIONS, UNIT_KINDS

LANGUAGES: tuple[str, ...] = CODES  # every language of the table (ingest/languages.py)


class MetadataError(ValueError):
    """Front matter or a sidecar is malformed; the message names the field."""


class DocMeta(BaseModel):
    """The metadata every document carries into the index."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(min_length=1)
    source_url: str
    sources: list[str] = Field(default_factory=list)
    published: str | None = None
    reviewed: str | None = None
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    topics: list[str] = Field(min_length=1)
    organizations: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    # Answer units (knowledge/units/): "answer" or "protocol"; protocols name their situation.
    kind: str | None = None
    situation: str | None = None
    question: str | None = None
    # Other ways people ask the unit's question: they help the bot tell it from its siblings.
    asked: list[str] = Field(default_factory=list)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str | None) -> str | None:
        if value is not None and value not in UNIT_KINDS:
            raise ValueError(f"must be one of {', '.join(UNIT_KINDS)}")
        return value

    @field_validator("situation")
    @classmethod
    def _situation(cls, value: str | None) -> str | None:
        if value is not None and value not in SITUATIONS:
            raise ValueError(f"must be one of {', '.join(SITUATIONS)}")
        return value

    @field_validator("published", "reviewed", mode="before")
    @classmethod
    def _date_text(cls, value: Any) -> Any:
        if isinstance(value, dt.date):
            return value.isoformat()
        return None if value is None else str(value)

    @field_validator("source_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("topics")
    @classmethod
    def _topics(cls, value: list[str], info: ValidationInfo) -> list[str]:
        allowed = (info.context or {}).get("topics")
        if allowed is None:  # no vocabulary given: the caller checks topics itself
            return value
        unknown = [t for t in value if t not in allowed]
        if unknown:
            raise ValueError(
                f"unknown topic(s) {', '.join(unknown)}; topics.yaml allows: "
                + ", ".join(sorted(allowed))
            )
        return value

    @field_validator("sources", "organizations", "regions", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    def reviewed_date(self) -> dt.date | None:
        """The `reviewed` value as a date (YYYY-MM means the first of that month)."""
        if not self.reviewed:
            return None
        text = self.reviewed
        try:
            if len(text) == 7:
                return dt.date.fromisoformat(text + "-01")
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            return None


def parse_meta(
    raw: dict[str, Any],
    known_orgs: set[str] | None = None,
    topics: Collection[str] | None = None,
) -> DocMeta:
    """Validate a metadata mapping against the directory and the topic vocabulary (the ids
    of `topics.yaml`); raise MetadataError naming the bad field."""
    try:
        meta = DocMeta.model_validate(raw, context={"topics": topics})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "metadata"
        raise MetadataError(f"{where}: {first['msg']}") from None
    if known_orgs is not None:
        unknown = [o for o in meta.organizations if o not in known_orgs]
        if unknown:
            raise MetadataError(f"organizations: unknown id(s) {', '.join(unknown)}")
    return meta


@dataclass(frozen=True)
class Organization:
    """One entry of `organizations.yaml`: whom it helps, how to reach it, its texts by language."""

    id: str
    name: str
    url: str
    status: str
    topics: tuple[str, ...]
    offers: tuple[str, ...]
    eligibility: str
    contact: dict[str, Any]
    languages: tuple[str, ...]
    regions: tuple[str, ...]
    response_time: str | None
    i18n: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def recommendable(self) -> bool:
        """True unless the organization has closed."""
        return self.status != "closed"

    def summary(self, language: str) -> str:
        """One line on what it offers, in `language` (else English, else its first offer)."""
        entry = self.i18n.get(language) or self.i18n.get("en") or {}
        return str(entry.get("summary") or (self.offers[0] if self.offers else self.name))

    def keywords(self, language: str) -> list[str]:
        """Its search keywords in `language` (none for a language without them)."""
        entry = self.i18n.get(language) or {}
        return [str(k) for k in entry.get("keywords") or []]

    def search_text(self, language: str) -> str:
        """The text indexed for this organization in one language."""
        parts = [self.name, self.summary(language), ", ".join(self.keywords(language))]
        if language == "en":
            parts += list(self.offers) + [self.eligibility]
        return "\n".join(p for p in parts if p)


def load_organizations(
    path: Path, topics: Collection[str] | None = None
) -> dict[str, Organization]:
    """Read `organizations.yaml`; raise MetadataError on a malformed entry or, given the
    vocabulary, on a topic `topics.yaml` does not define. The default vocabulary is the
    `topics.yaml` beside the directory."""
    if topics is None:
        topics = topic_ids(path.parent)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise MetadataError(f"{path.name}: {exc}") from None
    orgs: dict[str, Organization] = {}
    for n, raw in enumerate(data.get("organizations") or []):
        try:
            org = Organization(
                id=str(raw["id"]),
                name=str(raw["name"]),
                url=str(raw.get("url") or ""),
                status=str(raw.get("status") or "unverified"),
                topics=tuple(raw.get("topics") or ()),
                offers=tuple(str(o) for o in raw.get("offers") or ()),
                eligibility=str(raw.get("eligibility") or ""),
                contact=dict(raw.get("contact") or {}),
                languages=tuple(raw.get("languages") or ()),
                regions=tuple(raw.get("regions") or ()),
                response_time=raw.get("response_time"),
                i18n=dict(raw.get("i18n") or {}),
            )
        except (KeyError, TypeError) as exc:
            raise MetadataError(f"{path.name}: organization #{n + 1}: missing {exc}") from None
        bad = [t for t in org.topics if t not in topics]
        if bad:
            raise MetadataError(f"{path.name}: {org.id}: unknown topic(s) {', '.join(bad)}")
        orgs[org.id] = org
    return orgs


@dataclass(frozen=True)
class Topic:
    """One topic of `topics.yaml`: its names, descriptions and keywords by language."""

    id: str
    names: dict[str, str]
    descriptions: dict[str, str]
    keywords: dict[str, list[str]]


TOPICS_FILE = "topics.yaml"
_TOPIC_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def load_topics(path: Path) -> dict[str, Topic]:
    """Read `topics.yaml`, the only list of topics: ids, and names, descriptions and keywords
    per language. Raise MetadataError when it is missing or malformed."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise MetadataError(f"{path.name}: {exc}") from None
    topics: dict[str, Topic] = {}
    for raw in data.get("topics") or []:
        topic_id = str(raw.get("id") or "")
        if not _TOPIC_ID.match(topic_id):
            raise MetadataError(f"{path.name}: topic id {topic_id!r} must be lower-case-words")
        if not (raw.get("descriptions") or {}).get("en"):
            raise MetadataError(f"{path.name}: topic {topic_id!r} needs an English description")
        topics[topic_id] = Topic(
            id=raw["id"],
            names=dict(raw.get("names") or {}),
            descriptions=dict(raw.get("descriptions") or {}),
            keywords={k: [str(w) for w in v or []] for k, v in (raw.get("keywords") or {}).items()},
        )
    if not topics:
        raise MetadataError(f"{path.name}: no topics defined")
    return topics


class Vocabulary:
    """The topics of `topics.yaml` in their order, with their names per language."""

    def __init__(self, topics: dict[str, Topic]) -> None:
        self.topics = topics
        self.ids: tuple[str, ...] = tuple(topics)

    @classmethod
    def from_dir(cls, knowledge_dir: Path) -> Vocabulary:
        """The vocabulary of `knowledge_dir/topics.yaml`."""
        return cls(load_topics(knowledge_dir / TOPICS_FILE))

    def __contains__(self, topic: object) -> bool:
        return topic in self.topics

    def name(self, topic: str, language: str) -> str:
        """The topic's name in `language` (else English, else its id)."""
        names = self.topics[topic].names if topic in self.topics else {}
        return names.get(language) or names.get("en") or topic


def topic_ids(knowledge_dir: Path) -> set[str]:
    """The topic ids `knowledge_dir/topics.yaml` defines."""
    return set(load_topics(knowledge_dir / TOPICS_FILE))
