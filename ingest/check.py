"""`waypoint check`: what staff must fix in knowledge/ before it misleads anyone.

Errors (the check fails): malformed metadata, unknown topics or organization ids, missing or
stale `reviewed:`, duplicate titles, a malformed directory, vocabulary or glossary.

Warnings (look at them; the check still passes): documents that point to a closed
organization; sources that are reposts, mirrors or listing pages instead of the publisher's
own permalink (`source_problems`); contact details the directory marks unverified, in the
directory itself or published in a document; and text that uses a variant the glossary says
to avoid for the document's language.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from ingest.documents import Loader, discover, doc_id_for
from ingest.errors import DocumentError
from ingest.metadata import (
    MetadataError,
    Organization,
    load_organizations,
    load_topics,
    parse_meta,
)

STALE_AFTER_DAYS = 366
GLOSSARY_FILE = "glossary.yaml"

# Sites that republish other people's articles, documents or press releases (reposts,
# aggregators, document mirrors, web proxies, CDN copies). A claim must link the original
# publisher instead. An entry is a domain (it also covers its subdomains) or a domain with a
# path prefix ("gfmd.info/fundings"). Add a site here when a review finds it.
AGGREGATOR_DOMAINS: tuple[str, ...] = (
    "newstrenders.com",
    "news24hrs.net",
    "thisisradionow.com",
    "mil-osi.com",
    "fundsforngos.org",
    "guatemalasolidarity.org.uk",
    "humanrightsdefenders.blog",
    "politicalemails.org",
    "docslib.org",
    "fdokumen.com",
    "fdocuments.in",
    "fdocuments.net",
    "doczz.net",
    "readkong.com",
    "blogspot.com",
    "myvisaprompts.com",
    "triple-funds.com",
    "googleweblight.com",
    "gopherproxy.meulie.net",
    "fgks.org",
    "web.arc-cdn.net",
    "webflow.io",
    "landportal.org",
    "gfmd.info/fundings",
)

# Path segments of pages that list many posts rather than hold one.
_LISTING_SEGMENTS = ("category", "categories", "tag", "tags", "topics", "archive", "page")
# Paths that are a feed of the latest items when nothing follows them.
_FEED_ENDINGS = ("latest/news", "latest", "news", "press-releases", "media-centre", "blog")

_UNVERIFIED = re.compile(r"\b(unverified|unconfirmed|not confirmed|could not be confirmed)\b", re.I)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d[\d ()/-]{6,}\d")
_URL = re.compile(r"https?://[^\s)>\]\"',]+")
_SENTENCE = re.compile(r"(?<=[.;!?])\s+")
_CONTACT_META_KEYS = {"notes", "hotline_24_7"}


@dataclass
class CheckReport:
    """What `waypoint check` found: (file, reason) errors and warnings, and documents read."""

    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    documents: int = 0

    @property
    def ok(self) -> bool:
        """True when there are no errors; warnings do not count."""
        return not self.errors


@dataclass(frozen=True)
class GlossaryTerm:
    """The fixed wording of one concept in one language, and the variants to avoid."""

    id: str
    language: str
    term: str
    avoid: tuple[str, ...]


def source_problems(url: str) -> list[str]:
    """Why a URL is not fit to source a claim (empty if nothing is known against it)."""
    text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ["not an http(s) URL"]
    host = (parts.hostname or "").lower().removeprefix("www.")
    path = parts.path.lower()
    problems: list[str] = []
    for entry in AGGREGATOR_DOMAINS:
        domain, _, prefix = entry.partition("/")
        on_host = host == domain or host.endswith("." + domain)
        if on_host and (not prefix or path.lstrip("/").startswith(prefix)):
            problems.append(
                f"{domain} republishes other publishers' material: "
                "link the original publisher's page"
            )
            break
    segments = [s for s in path.split("/") if s]
    listing = next((s for s in segments if s in _LISTING_SEGMENTS), None)
    trail = "/".join(segments)
    if listing:
        problems.append(f"a listing page (/{listing}/), not a permalink: link the item itself")
    elif any(trail == end or trail.endswith("/" + end) for end in _FEED_ENDINGS):
        problems.append(f"a feed of the latest items (/{trail}/), not a permalink: link the item")
    query = parts.query.lower()
    if re.search(r"(^|&)(s|q|search|query)=", query):
        problems.append("a search-results page, not a permalink: link the item itself")
    return problems


def load_glossary(path: Path) -> list[GlossaryTerm]:
    """Read `glossary.yaml` (absent: no terms); raise MetadataError if malformed."""
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise MetadataError(f"{path.name}: {exc}") from None
    raw_terms = data.get("terms") if isinstance(data, Mapping) else None
    if not isinstance(raw_terms, list):
        raise MetadataError(f"{path.name}: expected a list under 'terms'")
    terms: list[GlossaryTerm] = []
    for n, raw in enumerate(raw_terms):
        if not isinstance(raw, Mapping) or not raw.get("id"):
            raise MetadataError(f"{path.name}: term #{n + 1}: missing id")
        term_id = str(raw["id"])
        for language, entry in raw.items():
            if language in ("id", "note"):
                continue
            if not isinstance(entry, Mapping) or not entry.get("term"):
                raise MetadataError(f"{path.name}: {term_id}.{language}: missing 'term'")
            avoid = entry.get("avoid") or []
            if isinstance(avoid, str):
                avoid = [avoid]
            terms.append(
                GlossaryTerm(
                    id=term_id,
                    language=str(language),
                    term=str(entry["term"]),
                    avoid=tuple(str(a) for a in avoid if str(a).strip()),
                )
            )
    return terms


def glossary_problems(text: str, language: str, terms: Iterable[GlossaryTerm]) -> list[str]:
    """The avoided variants a text in `language` uses, each with the term to use instead."""
    found: list[str] = []
    lowered = text.lower()
    for term in terms:
        if term.language != language:
            continue
        for variant in term.avoid:
            # A variant matches at the start of a word; inflected endings still match.
            if re.search(r"(?<!\w)" + re.escape(variant.lower()), lowered):
                found.append(
                    f"glossary: uses '{variant}'; the fixed term ({term.id}) is '{term.term}'"
                )
    return found


def unverified_contact_details(org: Organization) -> list[str]:
    """Emails, phones and URLs the directory gives for `org` but marks unverified."""
    texts = [
        str(value)
        for key, value in org.contact.items()
        if key not in _CONTACT_META_KEYS and value is not None and _UNVERIFIED.search(str(value))
    ]
    texts += [
        sentence
        for sentence in _SENTENCE.split(str(org.contact.get("notes") or ""))
        if _UNVERIFIED.search(sentence)
    ]
    details: list[str] = []
    for text in texts:
        for found in _EMAIL.findall(text) + _PHONE.findall(text) + _URL.findall(text):
            if found not in details:
                details.append(found)
    return details


def _organization_warnings(orgs: Mapping[str, Organization], raw: list[Any]) -> list[str]:
    """Directory problems: aggregator or listing sources and contact URLs, unverified contacts."""
    warnings: list[str] = []
    for entry in raw:
        if not isinstance(entry, Mapping) or str(entry.get("id")) not in orgs:
            continue
        org = orgs[str(entry["id"])]
        urls = [("url", org.url)] + [("sources", str(s)) for s in entry.get("sources") or []]
        urls += [
            (f"contact.{k}", str(v))
            for k, v in org.contact.items()
            if k not in _CONTACT_META_KEYS and str(v).startswith(("http://", "https://"))
        ]
        for where, url in urls:
            if not url:
                continue
            for problem in source_problems(url):
                warnings.append(f"{org.id}: {where} {url}: {problem}")
        for detail in unverified_contact_details(org):
            warnings.append(
                f"{org.id}: contact {detail} is marked unverified: confirm it or remove it"
            )
    return warnings


def _raw_organizations(path: Path) -> list[Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    found = data.get("organizations") if isinstance(data, Mapping) else None
    return found if isinstance(found, list) else []


def check_knowledge(root: Path, today: dt.date | None = None) -> CheckReport:
    """Validate every document, the directory, the vocabulary and the glossary."""
    today = today or dt.date.today()
    report = CheckReport()
    orgs: dict[str, Organization] = {}
    topics: set[str] = set()
    try:
        topics = set(load_topics(root / "topics.yaml"))
    except MetadataError as exc:
        report.errors.append(("topics.yaml", str(exc)))
    try:
        orgs = load_organizations(root / "organizations.yaml", topics)
    except MetadataError as exc:
        report.errors.append(("organizations.yaml", str(exc)))
    glossary: list[GlossaryTerm] = []
    try:
        glossary = load_glossary(root / GLOSSARY_FILE)
    except MetadataError as exc:
        report.errors.append((GLOSSARY_FILE, str(exc)))
    if orgs:
        raw_orgs = _raw_organizations(root / "organizations.yaml")
        for warning in _organization_warnings(orgs, raw_orgs):
            report.warnings.append(("organizations.yaml", warning))
    unverified = {
        detail: oid for oid, org in orgs.items() for detail in unverified_contact_details(org)
    }
    closed = {oid for oid, org in orgs.items() if not org.recommendable}
    titles: dict[str, list[str]] = defaultdict(list)
    with Loader() as loader:
        for path in discover(root):
            doc_id = doc_id_for(path, root)
            report.documents += 1
            try:
                doc = loader.load(path, root)
                meta = parse_meta(doc.meta, set(orgs) if orgs else None, topics)
            except DocumentError as exc:
                report.errors.append((doc_id, exc.reason))
                continue
            except MetadataError as exc:
                report.errors.append((doc_id, f"metadata: {exc}"))
                continue
            titles[meta.title.strip().lower()].append(doc_id)
            for org_id in meta.organizations:
                if org_id in closed:
                    report.warnings.append(
                        (doc_id, f"points to {org_id}, which is closed: say so or remove it")
                    )
            reviewed = meta.reviewed_date()
            if reviewed is None:
                report.errors.append((doc_id, "reviewed: missing or not a date (YYYY-MM)"))
            elif (today - reviewed).days > STALE_AFTER_DAYS:
                report.errors.append(
                    (doc_id, f"reviewed {meta.reviewed}: older than 12 months, review it again")
                )
            for key, url in [("source_url", meta.source_url)] + [
                ("sources", s) for s in meta.sources
            ]:
                for problem in source_problems(str(url)):
                    report.warnings.append((doc_id, f"{key} {url}: {problem}"))
            for detail, oid in unverified.items():
                if detail in doc.text:
                    report.warnings.append(
                        (doc_id, f"publishes {detail}, which {oid} marks unverified: remove it")
                    )
            for problem in glossary_problems(doc.text, meta.language, glossary):
                report.warnings.append((doc_id, problem))
    for docs in titles.values():
        if len(docs) > 1:
            for doc_id in docs:
                others = ", ".join(d for d in docs if d != doc_id)
                report.errors.append((doc_id, f"duplicate title (also {others})"))
    return report
