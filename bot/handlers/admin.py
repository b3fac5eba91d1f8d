"""Staff commands, for the ids in WAYPOINT_ADMIN_IDS only: /stats, /reindex, /gaps.
(Documents sent by staff are in `uploads`.)

Everyone else never reaches these handlers (their filters name the admins), so to them the
commands are simply unknown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from telegram import Update

from bot import ingest_report
from bot.handlers.base import Context, Outcome, handled, services, t, tn, ui_language
from bot.handlers.send import reply
from bot.render import esc, pack

logger = logging.getLogger(__name__)

MAX_PROBLEMS_SHOWN = 10


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
        "📊 <b>"
        + tn(
            lang,
            "Usage over the last {days} day",
            "Usage over the last {days} days",
            days,
            days=days,
        )
        + "</b>",
        t(
            lang,
            "Questions: {total} (answered {answered}, not found {not_found}, emergency "
            "{emergency})",
            total=s.questions,
            answered=s.answered,
            not_found=s.not_found,
            emergency=s.emergency,
        ),
        t(lang, "People, counted once a day: {people}", people=s.people),
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
    problems = services(context).knowledge_problems
    if problems:
        lines += ["", "⚠️ " + t(lang, "Files not indexed: {count}", count=len(problems))]
        lines += [
            f"• {esc(p.file)}: {esc(p.reason)}" for p in problems[:MAX_PROBLEMS_SHOWN]
        ]
    await reply(update, context, pack(["\n".join(lines)]))
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


def summary_text(lang: str, summary: Any) -> str:
    """The ingest summary for an admin (HTML)."""
    summary = ingest_report.summary_dict(summary)

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


async def run_reindex(context: Context) -> dict[str, Any]:
    """Re-ingest knowledge/ (the caller holds `reindex_lock`); record which files failed."""
    svc = services(context)
    summary = ingest_report.summary_dict(await asyncio.to_thread(svc.engine.reindex))
    svc.metrics.index_size.set(await asyncio.to_thread(svc.engine.index_size))
    svc.knowledge_problems = await asyncio.to_thread(
        ingest_report.save, svc.settings.data_dir, summary
    )
    ingest_report.log_problems(svc.knowledge_problems)
    return summary


@handled("reindex")
async def reindex(update: Update, context: Context) -> Outcome:
    """Re-ingest knowledge/ while the bot keeps answering; reply with the summary."""
    lang = await ui_language(update, context)
    if services(context).reindex_lock.locked():
        await reply(update, context, t(lang, "A reindex is already running."))
        return Outcome("busy", lang)
    await reply(update, context, "⏳ " + t(lang, "Reindexing…"))
    async with services(context).reindex_lock:
        summary = await run_reindex(context)
    await reply(update, context, summary_text(lang, summary))
    return Outcome("reindexed", lang)
