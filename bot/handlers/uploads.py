"""Documents sent by staff, with a caption such as
`topics: visas; organizations: shelter-city; source: https://…`, and their review.

An upload is checked (type, size, metadata, source) and staged in the review queue under the
data dir (`ingest.uploads`); every other admin gets the document with Approve / Reject
buttons. Only when a second admin approves does it move into knowledge/uploads/ and get
indexed; if ingest rejects it, it is taken out again. With WAYPOINT_SINGLE_ADMIN_PUBLISH the
uploader may approve their own upload (a deployment with one admin).

The queue records the uploader's pseudonym, not their Telegram id.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil

from telegram import Document, Message, Update
from telegram.error import TelegramError

from bot.handlers.admin import run_reindex, summary_text
from bot.handlers.base import Context, Outcome, handled, services, t, ui_language
from bot.handlers.keyboards import Review, matched, review_keyboard
from bot.handlers.send import answer_query, edit_markup, reply, send_html
from bot.i18n import gettext
from bot.render import esc
from bot.services import Services
from ingest.uploads import (
    PendingUpload,
    UploadError,
    build_meta,
    check_file,
    discard,
    known_organizations,
    known_topics,
    load_pending,
    new_slot,
    parse_caption,
    publish,
    safe_name,
    stage,
    withdraw,
)

logger = logging.getLogger(__name__)


def describe(pending: PendingUpload) -> str:
    """What a reviewer needs to judge the upload (HTML): its metadata as given."""
    meta = pending.meta
    lines = [f"<b>{esc(str(meta.get('title', pending.name)))}</b>"]
    for key in ("source_url", "topics", "organizations", "regions", "language"):
        value = meta.get(key)
        if value:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            lines.append(f"{esc(key)}: {esc(shown)}")
    return "\n".join(lines)


def _refused(lang: str, name: str, reason: str) -> str:
    return t(lang, "I could not add {name}: {reason}", name=name, reason=reason)


@handled("upload")
async def upload(update: Update, context: Context) -> Outcome:
    """Check a document sent by an admin and put it in the review queue."""
    lang = await ui_language(update, context)
    message, user = update.effective_message, update.effective_user
    document: Document | None = message.document if message else None
    if message is None or document is None or user is None:
        return Outcome("ignored", lang)
    svc = services(context)
    name = safe_name(document.file_name)
    try:
        check_file(name, document.file_size)
        known = await asyncio.to_thread(known_organizations, svc.settings.knowledge_dir)
        topics = await asyncio.to_thread(known_topics, svc.settings.knowledge_dir)
        meta = build_meta(parse_caption(message.caption), name, dt.date.today(), known, topics)
    except UploadError as exc:
        await reply(update, context, _refused(lang, name, str(exc)))
        return Outcome("refused", lang)
    try:
        _, folder = await asyncio.to_thread(new_slot, svc.settings.data_dir)
    except OSError as exc:
        logger.error("cannot stage uploads in the data dir: %s", type(exc).__name__)
        raise
    try:
        partial = folder / f".{name}.part"
        tg_file = await context.bot.get_file(document.file_id)
        await tg_file.download_to_drive(partial)
        uploader = svc.store.pseudonym(user.id)
        pending = await asyncio.to_thread(stage, folder, name, partial, meta, uploader)
    except (TelegramError, OSError) as exc:
        await asyncio.to_thread(shutil.rmtree, folder, True)
        logger.warning("upload download failed: %s", type(exc).__name__)
        await reply(
            update,
            context,
            t(lang, "I could not download {name}. Please send it again.", name=name),
        )
        return Outcome("download_failed", lang)
    solo = svc.settings.single_admin_publish
    text = t(lang, "Saved {name} for review.", name=name)
    if not solo:
        text += " " + t(lang, "Another admin must approve it.")
    markup = review_keyboard(lang, pending.id) if solo else None
    await reply(update, context, f"{text}\n\n{describe(pending)}", markup=markup)
    await _ask_reviewers(context, pending, document, exclude=user.id, lang=lang)
    return Outcome("pending", lang, tuple(meta["topics"]))


async def _ask_reviewers(
    context: Context, pending: PendingUpload, document: Document, *, exclude: int, lang: str
) -> None:
    """Send the document with Approve / Reject to every other admin who can be reached."""
    caption = f"{t(lang, 'New upload to review: {name}', name=pending.name)}\n\n{describe(pending)}"
    for admin_id in sorted(services(context).settings.admin_ids - {exclude}):
        try:
            await context.bot.send_document(
                admin_id,
                document.file_id,
                caption=caption[:1024],
                reply_markup=review_keyboard(lang, pending.id),
            )
        except TelegramError as exc:  # never started the bot, blocked it…
            logger.info("could not reach a reviewer: %s", type(exc).__name__)


def _admin_id_of(svc: Services, pseudonym: str) -> int | None:
    """The configured admin whose pseudonym this is (the queue keeps no raw ids)."""
    return next((a for a in svc.settings.admin_ids if svc.store.pseudonym(a) == pseudonym), None)


@handled("review")
async def review(update: Update, context: Context) -> Outcome:
    """Approve (publish and index) or reject an upload waiting for review."""
    query, tapped, user = update.callback_query, matched(Review, context), update.effective_user
    lang = await ui_language(update, context)
    svc = services(context)
    if query is None or user is None:
        return Outcome("ignored", lang)
    stale = gettext(lang, "This button is no longer active.")
    if tapped is None or user.id not in svc.settings.admin_ids:
        await answer_query(query, stale)
        return Outcome("stale", lang)
    async with svc.reindex_lock:  # one decision at a time; the reindex needs it anyway
        pending = await asyncio.to_thread(load_pending, svc.settings.data_dir, tapped.upload_id)
        if pending is None:
            await answer_query(query, stale)
            return Outcome("stale", lang)
        own = pending.uploader == svc.store.pseudonym(user.id)
        if own and not svc.settings.single_admin_publish:
            await answer_query(query, gettext(lang, "Another admin must approve it."))
            return Outcome("own_upload", lang)
        await answer_query(query)
        if isinstance(query.message, Message):
            await edit_markup(query, None)
        if not tapped.approve:
            await asyncio.to_thread(discard, pending)
            text = t(lang, "Rejected {name}.", name=pending.name)
            await _tell(update, context, pending, text)
            return Outcome("rejected", lang)
        outcome, text = await _publish(context, pending, lang)
    await _tell(update, context, pending, text)
    return Outcome(outcome, lang, tuple(pending.meta.get("topics") or ()))


async def _publish(context: Context, pending: PendingUpload, lang: str) -> tuple[str, str]:
    """Move the upload into knowledge/ and reindex; take it out again if ingest rejects it."""
    svc = services(context)
    published = await asyncio.to_thread(publish, pending, svc.settings.knowledge_dir)
    summary = await run_reindex(context)
    reasons = [
        str(e.get("reason", ""))
        for e in summary.get("errors") or []
        if isinstance(e, dict) and e.get("file") == pending.doc_id
    ]
    if reasons:
        await asyncio.to_thread(withdraw, published)
        await asyncio.to_thread(discard, pending)
        await run_reindex(context)  # back to the earlier version (or none), and its report
        text = _refused(lang, pending.name, "; ".join(reasons))
        return "failed_ingest", text + "\n" + t(lang, "I removed the file.")
    await asyncio.to_thread(discard, pending)
    added = t(lang, "Added {name}.", name=pending.name)
    return "published", added + "\n" + summary_text(lang, summary)


async def _tell(update: Update, context: Context, pending: PendingUpload, text: str) -> None:
    """Tell the reviewer, and the uploader if that is someone else."""
    await reply(update, context, text)
    svc = services(context)
    uploader = _admin_id_of(svc, pending.uploader)
    if uploader is not None and update.effective_user and uploader != update.effective_user.id:
        try:
            await send_html(context, uploader, text)
        except TelegramError as exc:
            logger.info("could not tell the uploader: %s", type(exc).__name__)
