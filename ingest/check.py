"""`waypoint check`: what staff must fix in knowledge/ before it misleads anyone."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ingest.documents import Loader, discover, doc_id_for
from ingest.errors import DocumentError
from ingest.metadata import MetadataError, load_organizations, load_topics, parse_meta

STALE_AFTER_DAYS = 366


@dataclass
class CheckReport:
    errors: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    documents: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def check_knowledge(root: Path, today: dt.date | None = None) -> CheckReport:
    """Validate every document, the directory and the vocabulary file."""
    today = today or dt.date.today()
    report = CheckReport()
    orgs = {}
    try:
        orgs = load_organizations(root / "organizations.yaml")
    except MetadataError as exc:
        report.errors.append(("organizations.yaml", str(exc)))
    try:
        load_topics(root / "topics.yaml")
    except MetadataError as exc:
        report.errors.append(("topics.yaml", str(exc)))
    closed = {oid for oid, org in orgs.items() if not org.recommendable}
    titles: dict[str, list[str]] = defaultdict(list)
    with Loader() as loader:
        for path in discover(root):
            doc_id = doc_id_for(path, root)
            report.documents += 1
            try:
                doc = loader.load(path, root)
                meta = parse_meta(doc.meta, set(orgs) if orgs else None)
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
    for docs in titles.values():
        if len(docs) > 1:
            for doc_id in docs:
                others = ", ".join(d for d in docs if d != doc_id)
                report.errors.append((doc_id, f"duplicate title (also {others})"))
    return report
