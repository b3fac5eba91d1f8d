"""ingest.uploads: caption metadata, safe unique names, and the review queue's files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ingest.uploads import (
    UploadError,
    build_meta,
    discard,
    load_pending,
    new_slot,
    parse_caption,
    publish,
    safe_name,
    stage,
    withdraw,
)

TODAY = dt.date(2026, 3, 1)


def test_caption_fields() -> None:
    fields = parse_caption("Topics: visas, relocation\norgs: shelter-city; title: A: B; nonsense")
    assert fields == {
        "topics": ["visas", "relocation"],
        "organizations": ["shelter-city"],
        "title": "A: B",
    }


@pytest.mark.parametrize(
    ("given", "wanted"),
    [
        ("../../Visa guide.md", "Visa-guide.md"),
        ("a.PDF", "a.pdf"),
        ("C:\\x\\notes.txt", "notes.txt"),
    ],
)
def test_ascii_names_stay_readable(given: str, wanted: str) -> None:
    assert safe_name(given) == wanted


def test_names_in_other_alphabets_are_unique_and_stable() -> None:
    names = ["доклад.pdf", "отчёт.pdf", "تقرير.pdf", "отчёт-2024.pdf", "доклад-2024.pdf", ".."]
    safe = [safe_name(n) for n in names]
    assert len(set(safe)) == len(safe)
    assert all(s.isascii() and "/" not in s and not s.startswith(".") for s in safe)
    assert safe_name("отчёт.pdf") == safe_name("отчёт.pdf")  # the same name replaces
    assert safe[0].endswith(".pdf")


def test_metadata_is_validated_like_ingest_and_check() -> None:
    meta = build_meta({"topics": ["visas"], "source_url": "https://example.org/g"}, "g.md", TODAY)
    assert meta["reviewed"] == "2026-03-01" and meta["language"] == "en"
    with pytest.raises(UploadError, match="topics"):
        build_meta({"source_url": "https://example.org"}, "g.md", TODAY)
    with pytest.raises(UploadError, match="source"):
        build_meta({"topics": ["visas"]}, "g.md", TODAY)
    with pytest.raises(UploadError):
        build_meta({"topics": ["visas"], "source_url": "ftp://example.org/x"}, "g.md", TODAY)
    with pytest.raises(UploadError, match="republishes"):
        build_meta(
            {"topics": ["visas"], "source_url": "https://www.fundsforngos.org/a/b/"}, "g.md", TODAY
        )
    with pytest.raises(UploadError, match="organizations"):
        build_meta(
            {"topics": ["visas"], "source_url": "https://e.org", "organizations": ["nobody"]},
            "g.md",
            TODAY,
            known_orgs={"shelter-city"},
        )


def _staged(data: Path, name: str, content: bytes) -> Path:
    upload_id, folder = new_slot(data)
    part = folder / f".{name}.part"
    part.write_bytes(content)
    meta = {"title": "T", "source_url": "https://e.org", "topics": ["visas"]}
    stage(folder, name, part, meta, uploader="pseudonym-of-admin")
    return folder


def test_the_queue_round_trip(tmp_path: Path) -> None:
    data, knowledge = tmp_path / "data", tmp_path / "knowledge"
    folder = _staged(data, "notes.md", b"# Notes\n")
    pending = load_pending(data, folder.name)
    assert pending is not None and pending.uploader == "pseudonym-of-admin"
    assert pending.file.read_text().startswith("---\n")  # front matter written in
    assert pending.doc_id == "uploads/notes.md"

    done = publish(pending, knowledge)
    assert done.target == knowledge / "uploads" / "notes.md" and done.previous is None
    assert (knowledge / "uploads" / "notes.md.meta.yaml").is_file()
    discard(pending)
    assert load_pending(data, folder.name) is None

    newer = load_pending(data, _staged(data, "notes.md", b"# Newer\n").name)
    assert newer is not None
    second = publish(newer, knowledge)
    assert "Newer" in second.target.read_text()
    withdraw(second)  # ingest refused the newer one: the first comes back
    assert "Notes" in (knowledge / "uploads" / "notes.md").read_text()
    assert (knowledge / "uploads" / "notes.md.meta.yaml").is_file()
    assert not list(knowledge.rglob("*.part"))


@pytest.mark.parametrize("upload_id", ["../../etc", "short", "a" * 40, "abc/defghijk"])
def test_ids_that_are_not_ours_find_nothing(tmp_path: Path, upload_id: str) -> None:
    assert load_pending(tmp_path, upload_id) is None
