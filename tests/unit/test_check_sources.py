"""`waypoint check` warnings on sources, unverified contacts and glossary terms."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from ingest.check import check_knowledge, glossary_problems, load_glossary, source_problems
from ingest.metadata import MetadataError
from tests.conftest import ORGS_YAML, write_doc

TODAY = dt.date(2026, 11, 28)


def _doc(
    root: Path, rel: str, *, source_url: str, sources: list[str], body: str, language: str = "en"
) -> None:
    listed = "".join(f"\n  - {s}" for s in sources) if sources else " []"
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "---\n"
        f'title: "{rel}"\n'
        f"source_url: {source_url}\n"
        f"sources:{listed}\n"
        "reviewed: 2026-11\n"
        f"language: {language}\n"
        "topics: [red-notices]\n"
        "organizations: []\n"
        "regions: [global]\n"
        "---\n" + body,
        encoding="utf-8",
    )


def _kinds(report, doc_id: str) -> list[str]:
    return [reason for where, reason in report.warnings if where == doc_id]


@pytest.mark.parametrize(
    "url",
    [
        "https://www.newstrenders.com/2025/08/13/some-story",
        "https://ngo.mil-osi.com/2025/10/30/a-press-release",
        "https://travel-insurance.blogspot.com/2020/07/post.html",
        "https://docslib.org/doc/1/a-leaflet",
        "https://gfmd.info/fundings/a-fund/",
    ],
)
def test_aggregators_are_problems(url):
    problems = source_problems(url)
    assert len(problems) == 1 and "original publisher" in problems[0]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/category/human-rights-defenders",
        "https://example.org/tag/prosecutors-office/",
        "https://www.amnesty.org/en/latest/news/",
        "https://example.org/en/latest/news",
        "https://example.org/?s=new+rules",
    ],
)
def test_listing_pages_are_problems(url):
    assert source_problems(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.amnesty.org/en/latest/news/2026/01/turkiye-acquittal-of-bar-leaders/",
        "https://www.interpol.int/en/Who-we-are/Commission-for-the-Control-of-INTERPOL-s-Files-CCF",
        "https://gfmd.info/about/",
        "https://blogspot.example.org/story",
        "https://www.hrw.org/news/2025/08/12/us-rights-report",
    ],
)
def test_permalinks_are_fine(url):
    assert source_problems(url) == []


def test_not_http_is_a_problem():
    assert source_problems("ftp://example.org/file") == ["not an http(s) URL"]


def test_document_sources_warn_by_kind(corpus):
    _doc(
        corpus,
        "reports/repost.md",
        source_url="https://news24hrs.net/?p=1",
        sources=["https://example.org/category/news", "https://example.org/2025/01/item"],
        body="## A report\n\nA statement was issued.\n",
    )
    report = check_knowledge(corpus, today=TODAY)
    assert report.ok
    reasons = _kinds(report, "reports/repost.md")
    assert len(reasons) == 2
    assert any(r.startswith("source_url") and "original publisher" in r for r in reasons)
    assert any(r.startswith("sources") and "listing page" in r for r in reasons)
    assert _kinds(report, "guides/visas.md") == []


def test_directory_sources_and_contact_urls_warn(corpus):
    extra = textwrap.indent(
        textwrap.dedent(
            """\
            - id: mirrored
              name: Mirrored Fund
              url: https://fund.example.org
              status: active
              topics: [grants]
              offers: ["Grants"]
              eligibility: anyone
              contact: {contact_form: "https://example.org/tag/apply"}
              sources:
                - https://politicalemails.org/messages/1/html_body
            """
        ),
        "  ",
    )
    (corpus / "organizations.yaml").write_text(ORGS_YAML + extra, encoding="utf-8")
    report = check_knowledge(corpus, today=TODAY)
    reasons = _kinds(report, "organizations.yaml")
    assert report.ok
    assert len(reasons) == 2
    assert any("mirrored: sources" in r and "original publisher" in r for r in reasons)
    assert any("mirrored: contact.contact_form" in r and "listing page" in r for r in reasons)


def test_unverified_contacts_warn_in_directory_and_documents(corpus):
    extra = textwrap.indent(
        textwrap.dedent(
            """\
            - id: doubtful
              name: Doubtful Fund
              url: https://doubtful.example.org
              status: active
              topics: [grants]
              offers: ["Grants"]
              eligibility: anyone
              contact:
                email: office@doubtful.example.org
                notes: "Old address old.fund@mail.example.com is unverified. Hours unverified."
            """
        ),
        "  ",
    )
    (corpus / "organizations.yaml").write_text(ORGS_YAML + extra, encoding="utf-8")
    write_doc(
        corpus,
        "guides/grants.md",
        title="Grants",
        topics="[grants]",
        body="## Write to the fund\n\nWrite to old.fund@mail.example.com for help.\n",
    )
    report = check_knowledge(corpus, today=TODAY)
    directory = _kinds(report, "organizations.yaml")
    assert len(directory) == 1 and "old.fund@mail.example.com" in directory[0]
    assert "unverified" in directory[0]
    published = _kinds(report, "guides/grants.md")
    assert len(published) == 1 and "doubtful" in published[0]
    assert report.ok


GLOSSARY = """\
terms:
  - id: diffusion
    en: {term: diffusion, avoid: [red diffusion]}
    ru: {term: диффузия, avoid: [циркуляр]}
  - id: red-notice
    ru: {term: красное уведомление}
"""


def test_glossary_avoid_variants_warn_for_the_document_language(corpus):
    (corpus / "glossary.yaml").write_text(GLOSSARY, encoding="utf-8")
    write_doc(
        corpus,
        "guides/rn.ru.md",
        title="Уведомления",
        topics="[red-notices]",
        language="ru",
        body="## Что это\n\nПо каналам Интерпола разослали Циркуляры о розыске.\n",
    )
    write_doc(
        corpus,
        "guides/rn-other.md",
        title="Diffusions",
        topics="[red-notices]",
        body="## What it is\n\nThe word циркуляр is Russian; a diffusion is a message.\n",
    )
    report = check_knowledge(corpus, today=TODAY)
    assert report.ok
    ru = _kinds(report, "guides/rn.ru.md")
    assert len(ru) == 1 and ru[0].startswith("glossary:") and "диффузия" in ru[0]
    assert _kinds(report, "guides/rn-other.md") == []


def test_glossary_matches_word_starts_only():
    terms = load_glossary_text(GLOSSARY)
    assert glossary_problems("A red diffusion was sent.", "en", terms)
    assert glossary_problems("Undiffused red diffusions", "en", terms)
    assert not glossary_problems("A diffusion was sent.", "en", terms)
    assert not glossary_problems("shred diffusion", "en", terms)


def test_malformed_glossary_is_an_error(corpus):
    (corpus / "glossary.yaml").write_text(
        "terms:\n  - id: ccf\n    en: {avoid: [x]}\n", encoding="utf-8"
    )
    report = check_knowledge(corpus, today=TODAY)
    assert not report.ok
    assert dict(report.errors)["glossary.yaml"].endswith("missing 'term'")


def test_missing_glossary_means_no_terms(tmp_path):
    assert load_glossary(tmp_path / "glossary.yaml") == []
    (tmp_path / "glossary.yaml").write_text("terms: nope\n", encoding="utf-8")
    with pytest.raises(MetadataError):
        load_glossary(tmp_path / "glossary.yaml")


def test_missing_reviewed_is_still_an_error(corpus):
    _doc(corpus, "guides/x.md", source_url="https://example.org/x", sources=[], body="Text.\n")
    path = corpus / "guides/x.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("reviewed: 2026-11\n", ""), encoding="utf-8"
    )
    report = check_knowledge(corpus, today=TODAY)
    assert "reviewed" in dict(report.errors)["guides/x.md"]


def load_glossary_text(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "glossary.yaml"
        path.write_text(text, encoding="utf-8")
        return load_glossary(path)
