"""`waypoint check`: errors staff must fix, warnings they should look at."""

from __future__ import annotations

import datetime as dt

from ingest.check import check_knowledge
from tests.conftest import write_doc

TODAY = dt.date(2026, 11, 28)


def test_clean_corpus_passes(corpus):
    report = check_knowledge(corpus, today=TODAY)
    assert report.ok and report.documents == 3 and report.warnings == []


def test_problems_are_reported_per_file(corpus):
    write_doc(
        corpus,
        "old.md",
        title="Old guide",
        topics="[visas]",
        body="Old text here.\n",
        reviewed="2025-06",
    )
    write_doc(
        corpus,
        "dup.md",
        title="Schengen visas for defenders",
        topics="[visas]",
        body="Same title as another guide.\n",
    )
    write_doc(
        corpus,
        "closed.md",
        title="Closed fund story",
        topics="[grants]",
        orgs="[closed-fund]",
        body="The fund closed in 2025 and takes no requests.\n",
    )
    write_doc(corpus, "bad.md", title="Bad", topics="[cooking]", body="Unknown topic.\n")
    write_doc(
        corpus,
        "ghost.md",
        title="Ghost",
        topics="[visas]",
        orgs="[no-such-org]",
        body="Unknown organization.\n",
    )
    (corpus / "nometa.md").write_text("Just text, no front matter.\n", encoding="utf-8")
    report = check_knowledge(corpus, today=TODAY)
    errors = dict(report.errors)
    assert "older than 12 months" in errors["old.md"]
    assert "duplicate title" in errors["dup.md"]
    assert "duplicate title" in errors["guides/visas.md"]
    assert "cooking" in errors["bad.md"]
    assert "no-such-org" in errors["ghost.md"]
    assert "no front matter" in errors["nometa.md"]
    assert dict(report.warnings) == {
        "closed.md": "points to closed-fund, which is closed: say so or remove it"
    }
    assert not report.ok
