"""Documents sent by admins wait in a review queue: nothing reaches knowledge/ or the index
until a second admin approves (or the operator explicitly allows single-admin publishing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.inprocess import ADMIN, ALICE, SECOND_ADMIN, Harness, buttons, harness

CAPTION = "topics: visas, relocation; source: https://example.org/guide"


async def upload(
    h: Harness, name: str, content: bytes, caption: str | None = CAPTION, size: int | None = None
) -> list[dict[str, Any]]:
    return await h.send(h.api.push_document(ADMIN, name, content, caption=caption, size=size))


def review_request(h: Harness, admin_id: int) -> dict[str, Any]:
    """The last document sent to `admin_id` for review (with its buttons)."""
    sent = [c.result for c in h.calls("sendDocument") if c.ok and c.params["chat_id"] == admin_id]
    assert sent, "no review request"
    return sent[-1]  # type: ignore[no-any-return]


def decision(message: dict[str, Any], approve: bool) -> str:
    prefix = "up:ok:" if approve else "up:no:"
    return next(v for v in buttons(message).values() if v.startswith(prefix))


def published(knowledge: Path) -> list[str]:
    folder = knowledge / "uploads"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


async def test_an_upload_waits_for_a_second_admin(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        knowledge = h.services.settings.knowledge_dir
        (saved,) = await upload(h, "../../Visa guide.md", b"# Visas\n\nApply early.\n")
        assert not buttons(saved)  # the uploader cannot approve their own upload
        assert published(knowledge) == [] and h.engine.reindexed == 0
        pending = list((h.services.settings.data_dir / "pending").iterdir())
        assert len(pending) == 1

        request = review_request(h, SECOND_ADMIN.id)
        approve = decision(request, True)
        assert request["document"]["file_id"]  # the reviewer sees the document itself
        assert "https://example.org/guide" in request["caption"]
        assert not [c for c in h.calls("sendDocument") if c.params["chat_id"] == ADMIN.id]

        # The uploader's own approval (a forwarded or forged button) does not publish.
        assert await h.tap(ADMIN, request, approve) == []
        assert published(knowledge) == [] and h.engine.reindexed == 0

        replies = await h.tap(SECOND_ADMIN, request, approve)
        assert {m["chat"]["id"] for m in replies} == {SECOND_ADMIN.id, ADMIN.id}
        assert published(knowledge) == ["Visa-guide.md", "Visa-guide.md.meta.yaml"]
        text = (knowledge / "uploads" / "Visa-guide.md").read_text()
        assert text.startswith("---\n") and "Apply early." in text
        meta = yaml.safe_load((knowledge / "uploads" / "Visa-guide.md.meta.yaml").read_text())
        assert meta["topics"] == ["visas", "relocation"]
        assert meta["source_url"] == "https://example.org/guide"
        assert h.engine.reindexed == 1
        assert not any((h.services.settings.data_dir / "pending").iterdir())
        assert not list(knowledge.rglob("*.part"))
        # The buttons are gone, and a second tap finds nothing to decide.
        assert not buttons(request)
        assert await h.tap(SECOND_ADMIN, request, approve) == []
        assert h.engine.reindexed == 1


async def test_a_rejected_upload_is_dropped(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await upload(h, "notes.md", b"# Notes\n")
        request = review_request(h, SECOND_ADMIN.id)
        await h.tap(SECOND_ADMIN, request, decision(request, False))
        assert published(h.services.settings.knowledge_dir) == []
        assert not any((h.services.settings.data_dir / "pending").iterdir())
        assert h.engine.reindexed == 0


async def test_only_admins_can_decide(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        await upload(h, "notes.md", b"# Notes\n")
        request = review_request(h, SECOND_ADMIN.id)
        assert await h.tap(ALICE, request, decision(request, True)) == []
        assert published(h.services.settings.knowledge_dir) == []
        assert h.calls("answerCallbackQuery")[-1].params.get("text")


async def test_single_admin_publishing_when_the_operator_allows_it(tmp_path: Path) -> None:
    async with harness(tmp_path, single_admin_publish=True, admin_ids=frozenset({ADMIN.id})) as h:
        (saved,) = await upload(h, "notes.md", b"# Notes\n")
        assert not h.calls("sendDocument")  # nobody else to ask
        await h.tap(ADMIN, saved, decision(saved, True))
        assert published(h.services.settings.knowledge_dir) == ["notes.md", "notes.md.meta.yaml"]
        assert h.engine.reindexed == 1


async def test_an_upload_ingest_rejects_is_taken_out_and_the_earlier_version_restored(
    tmp_path: Path,
) -> None:
    async with harness(tmp_path) as h:
        knowledge = h.services.settings.knowledge_dir
        await upload(h, "report.txt", b"A good first version.")
        request = review_request(h, SECOND_ADMIN.id)
        await h.tap(SECOND_ADMIN, request, decision(request, True))
        assert (knowledge / "uploads" / "report.txt").read_bytes() == b"A good first version."

        await upload(h, "report.txt", b"BROKEN\xff")
        request = review_request(h, SECOND_ADMIN.id)
        replies = await h.tap(SECOND_ADMIN, request, decision(request, True))
        assert "not UTF-8 text" in replies[0]["text"]  # the reason ingest gave
        assert (knowledge / "uploads" / "report.txt").read_bytes() == b"A good first version."
        assert (knowledge / "uploads" / "report.txt.meta.yaml").is_file()
        assert h.services.knowledge_problems == []  # reindexed again without it


async def test_names_in_other_alphabets_do_not_collide(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        for name in ("доклад.md", "отчёт.md", "تقرير.md"):
            await upload(h, name, f"# {name}\n".encode())
            request = review_request(h, SECOND_ADMIN.id)
            await h.tap(SECOND_ADMIN, request, decision(request, True))
        names = [n for n in published(h.services.settings.knowledge_dir) if n.endswith(".md")]
        assert len(names) == 3 and all(n.isascii() for n in names)


@pytest.mark.parametrize(
    ("name", "caption", "size"),
    [
        ("notes.md", None, None),  # no topics
        ("notes.md", "topics: visas", None),  # no source
        ("notes.md", "topics: cooking; source: https://example.org", None),
        ("tool.exe", CAPTION, None),
        ("big.pdf", CAPTION, 21 * 1024 * 1024),
        ("notes.md", "topics: visas; source: ftp://example.org/x", None),
        ("notes.md", "topics: visas; source: https://www.fundsforngos.org/x/", None),
    ],
)
async def test_refused_before_anything_is_downloaded(
    tmp_path: Path, name: str, caption: str | None, size: int | None
) -> None:
    async with harness(tmp_path) as h:
        (reply,) = await upload(h, name, b"# x\n", caption, size)
        assert name.split(".")[0] in reply["text"]
        assert not h.calls("getFile") and not h.calls("sendDocument")
        pending = h.services.settings.data_dir / "pending"
        assert not pending.exists() or not any(pending.iterdir())
