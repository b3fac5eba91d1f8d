"""Staff commands, for the ids in WAYPOINT_ADMIN_IDS only: /stats, /reindex, /gaps, and
adding a document to knowledge/uploads/ by sending it with a caption such as
`topics: visas; organizations: shelter-city; source: https://…`.

Everyone else never reaches these handlers (their filters name the admins), so to them the
commands are simply unknown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from telegram import Document, Update
from telegram.error import BadRequest, TelegramError

from bot.handlers.common import Context, Outcome, handled, reply, services, t, ui_language
from bot.render import TOPICS, esc, pack

logger = logging.getLogger(__name__)

UPLOAD_DIR = "uploads"
SIDECAR = ".meta.yaml"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # what getFile can fetch
UPLOAD_SUFFIXES = (".pdf", ".docx", ".md", ".markdown", ".txt", ".html", ".htm")
_CAPTION_KEYS = {
    "topic": "topics",
    "topics": "topics",
    "organization": "organizations",
    "organizations": "organizations",
    "orgs": "organizations",
    "title": "title",
    "language": "language",
    "lang": "language",
    "source": "source_url",
    "source_url": "source_url",
    "url": "source_url",
    "region": "regions",
    "regions": "regions",
}


class UploadError(ValueError):
    """The upload cannot be added; the message says why (for the admin)."""


# -- /stats, /gaps -----------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def _top(counts: dict[str, int], limit: int = 8) -> str:
    return ", ".join(f"{k} {v}" for k, v in list(counts.items())[:limit]) or "-"


@handled("stats")
async def stats(update: Update, context: Context) -> Outcome:
    """Show usage over the last days (`/stats 30`)."""
    lang = await ui_language(update, context)
    args = context.args or []
    days = int(args[0]) if args and args[0].isdigit() and 0 < int(args[0]) <= 365 else 7
    s = await services(context).store.stats(days)
    lines = [
        "📊 <b>" + t(lang, "Usage over the last {days} days", days=days) + "</b>",
        t(
            lang,
            "Questions: {total} (answered {answered}, not found {not_found}, emergency "
            "{emergency})",
            total=s.questions,
            answered=s.answered,
            not_found=s.not_found,
            emergency=s.emergency,
        ),
        t(lang, "People: {people}", people=s.people),
        t(lang, "Helpful: {yes}, not helpful: {no}", yes=s.helpful, no=s.not_helpful),
        t(
            lang,
            "Answer time: median {p50}, 95th percentile {p95}",
            p50=_ms(s.latency_p50_ms),
            p95=_ms(s.latency_p95_ms),
        ),
        t(lang, "Topics: {topics}", topics=_top(s.topics)),
        t(lang, "Languages: {languages}", languages=_top(s.languages)),
    ]
    await reply(update, context, "\n".join(lines))
    return Outcome("shown", lang)


@handled("gaps")
async def gaps(update: Update, context: Context) -> Outcome:
    """Show recent questions that found nothing (only if WAYPOINT_KEEP_UNANSWERED is on)."""
    lang = await ui_language(update, context)
    svc = services(context)
    if not svc.settings.keep_unanswered:
        await reply(
            update,
            context,
            t(lang, "Unanswered questions are not kept (WAYPOINT_KEEP_UNANSWERED is off)."),
        )
        return Outcome("disabled", lang)
    found = await svc.store.recent_gaps(20)
    if not found:
        await reply(update, context, t(lang, "No unanswered questions recently."))
        return Outcome("empty", lang)
    blocks = ["<b>" + t(lang, "Questions I could not answer") + "</b>"]
    for gap in found:
        day = dt.datetime.fromtimestamp(gap.at, dt.UTC).date().isoformat()
        blocks.append(f"• <i>{esc(day)} [{esc(gap.language)}]</i> {esc(gap.text)}")
    await reply(update, context, pack(["\n".join(blocks)]))
    return Outcome("shown", lang)


# -- /reindex ------------------------------------------------------------------------------------


def summary_text(lang: str, summary: dict[str, Any]) -> str:
    """The ingest summary for an admin (HTML)."""

    def n(key: str) -> int:
        value = summary.get(key, 0)
        return int(value) if isinstance(value, int | float) else 0

    seconds = "{:.1f}".format(float(summary.get("seconds") or 0))
    lines = [
        t(
            lang,
            "Index updated in {seconds} s: {added} added, {updated} updated, {unchanged} "
            "unchanged, {removed} removed, {failed} failed. Chunks embedded: {embedded}, "
            "in the index: {total}.",
            seconds=seconds,
            added=n("added"),
            updated=n("updated"),
            unchanged=n("unchanged"),
            removed=n("removed"),
            failed=n("failed"),
            embedded=n("chunks_embedded"),
            total=n("chunks_total"),
        )
    ]
    for error in summary.get("errors") or []:
        lines.append(f"• {esc(str(error.get('file', '?')))}: {esc(str(error.get('reason', '')))}")
    return "\n".join(lines)


async def _reindex(context: Context) -> dict[str, Any]:
    svc = services(context)
    async with svc.reindex_lock:
        summary = await asyncio.to_thread(svc.engine.reindex)
        svc.metrics.index_size.set(await asyncio.to_thread(svc.engine.index_size))
    return summary


@handled("reindex")
async def reindex(update: Update, context: Context) -> Outcome:
    """Re-ingest knowledge/ while the bot keeps answering; reply with the summary."""
    lang = await ui_language(update, context)
    if services(context).reindex_lock.locked():
        await reply(update, context, t(lang, "A reindex is already running."))
        return Outcome("busy", lang)
    await reply(update, context, "⏳ " + t(lang, "Reindexing…"))
    summary = await _reindex(context)
    await reply(update, context, summary_text(lang, summary))
    return Outcome("reindexed", lang)


# -- uploads ---------------------------------------------------------------------------------------


def parse_caption(caption: str | None) -> dict[str, Any]:
    """`topics: visas, grants; organizations: x; title: …` -> metadata fields."""
    fields: dict[str, Any] = {}
    for part in re.split(r"[;\n]", caption or ""):
        key, sep, value = part.partition(":")
        if not sep:
            continue
        name = _CAPTION_KEYS.get(key.strip().lower())
        value = value.strip()
        if name is None or not value:
            continue
        if name in {"topics", "organizations", "regions"}:
            fields[name] = [v for v in re.split(r"[,\s]+", value.lower()) if v]
        else:
            fields[name] = value
    return fields


def safe_name(file_name: str | None) -> str:
    """A file name safe to write under uploads/ (no paths, no odd characters)."""
    base = os.path.basename((file_name or "").replace("\\", "/")).strip()
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"[^\w.-]+", "-", stem, flags=re.ASCII).strip(".-")[:80] or "document"
    return f"{stem}.{suffix.lower()}" if suffix else stem


def build_meta(
    fields: dict[str, Any], name: str, today: dt.date, known_orgs: set[str] | None = None
) -> dict[str, Any]:
    """The document's metadata, validated like ingest validates it (UploadError if not)."""
    from ingest.metadata import MetadataError, parse_meta

    if not fields.get("topics"):
        raise UploadError(
            f"add the topics to the caption, e.g. `topics: visas` ({', '.join(TOPICS)})"
        )
    if not fields.get("source_url"):
        raise UploadError("add the source link to the caption, e.g. `source: https://…`")
    meta: dict[str, Any] = {
        "title": fields.get("title") or Path(name).stem.replace("-", " ").replace("_", " "),
        "source_url": fields["source_url"],
        "reviewed": today.isoformat(),
        "language": (fields.get("language") or "en").lower(),
        "topics": fields["topics"],
        "organizations": fields.get("organizations", []),
    }
    if fields.get("regions"):
        meta["regions"] = fields["regions"]
    try:
        parse_meta(meta, known_orgs)
    except MetadataError as exc:
        raise UploadError(str(exc)) from None
    return meta


def known_organizations(knowledge_dir: Path) -> set[str] | None:
    """The directory's organization ids (None if there is no readable directory)."""
    from ingest.metadata import MetadataError, load_organizations

    path = knowledge_dir / "organizations.yaml"
    if not path.is_file():
        return None
    try:
        return set(load_organizations(path))
    except MetadataError:
        return None


def write_upload(folder: Path, name: str, content_path: Path, meta: dict[str, Any]) -> Path:
    """Move the downloaded file into place with its sidecar (and front matter for Markdown)."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    header = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False)
    if target.suffix.lower() in (".md", ".markdown"):
        try:
            text = content_path.read_text(encoding="utf-8-sig")
            if not frontmatter.loads(text).metadata:
                content_path.write_text(f"---\n{header}---\n\n{text}", encoding="utf-8")
        except (UnicodeDecodeError, yaml.YAMLError):
            pass  # ingest reports what is wrong with it
    os.replace(content_path, target)
    target.with_name(target.name + SIDECAR).write_text(header, encoding="utf-8")
    return target


def remove_upload(target: Path) -> None:
    target.unlink(missing_ok=True)
    target.with_name(target.name + SIDECAR).unlink(missing_ok=True)


@handled("upload")
async def upload(update: Update, context: Context) -> Outcome:
    """Save a document sent by an admin under knowledge/uploads/ and reindex."""
    lang = await ui_language(update, context)
    message = update.effective_message
    document: Document | None = message.document if message else None
    if document is None:
        return Outcome("ignored", lang)
    svc = services(context)
    name = safe_name(document.file_name)
    try:
        if not name.lower().endswith(UPLOAD_SUFFIXES):
            raise UploadError("send a PDF, DOCX, Markdown, TXT or HTML file")
        if (document.file_size or 0) > MAX_UPLOAD_BYTES:
            raise UploadError("the file is larger than 20 MB")
        known = await asyncio.to_thread(known_organizations, svc.settings.knowledge_dir)
        caption = parse_caption(message.caption if message else None)
        meta = build_meta(caption, name, dt.date.today(), known)
    except UploadError as exc:
        await reply(
            update, context, t(lang, "I could not add {name}: {reason}", name=name, reason=str(exc))
        )
        return Outcome("refused", lang)
    folder = svc.settings.knowledge_dir / UPLOAD_DIR
    partial = folder / f".{name}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tg_file = await context.bot.get_file(document.file_id)
        await tg_file.download_to_drive(partial)
    except (BadRequest, TelegramError, OSError) as exc:
        partial.unlink(missing_ok=True)
        logger.warning("upload download failed: %s", type(exc).__name__)
        await reply(
            update,
            context,
            t(lang, "I could not download {name}. Please send it again.", name=name),
        )
        return Outcome("download_failed", lang)
    target = await asyncio.to_thread(write_upload, folder, name, partial, meta)
    await reply(update, context, "⏳ " + t(lang, "Saved {name}. Reindexing…", name=name))
    summary = await _reindex(context)
    doc_id = f"{UPLOAD_DIR}/{name}"
    reasons = [
        str(e.get("reason", "")) for e in summary.get("errors") or [] if e.get("file") == doc_id
    ]
    if reasons:
        await asyncio.to_thread(remove_upload, target)
        await reply(
            update,
            context,
            t(lang, "I could not add {name}: {reason}", name=name, reason="; ".join(reasons))
            + "\n"
            + t(lang, "I removed the file."),
        )
        return Outcome("rejected", lang)
    await reply(
        update, context, t(lang, "Added {name}.", name=name) + "\n" + summary_text(lang, summary)
    )
    return Outcome("added", lang, tuple(meta["topics"]))
