"""Telegram handlers, grouped by feature, registered in one place (`register`).

Groups, in the order PTB runs them for each update:
  -3  limits.enforce         one rate limit for every update a user causes; over it, stop here
  -2  inbox.record           store the update durably; a duplicate stops here
  -1  inbox.track_incoming   remember the user's private message (auto-delete, /forget)
   0  commands, buttons, questions, admin, non-text, unknown commands (first match wins)
  99  inbox.done             mark the update answered

Modules: `base` (context, log line, language), `send` (everything that writes to a chat),
`keyboards` (buttons and their callback data, each kind defined once), `memory` (answers kept
for their buttons), then one module per feature.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.handlers import (
    admin,
    callbacks,
    errors,
    inbox,
    limits,
    privacy,
    questions,
    start,
    uploads,
)
from bot.handlers.keyboards import (
    AutoDeleteChoice,
    ForgetChoice,
    HappeningNow,
    LanguageChoice,
    MoreSources,
    Review,
    SituationChoice,
    TopicChoice,
    Vote,
    WhoCanHelp,
)

LIMIT_GROUP = limits.LIMIT_GROUP
INBOX_GROUP = -2
TRACK_GROUP = -1
MAIN_GROUP = 0
DONE_GROUP = 99
DELETIONS_EVERY_S = 30.0
PURGE_EVERY_S = 3600.0

NOT_TEXT = (
    filters.PHOTO
    | filters.VOICE
    | filters.AUDIO
    | filters.VIDEO
    | filters.VIDEO_NOTE
    | filters.ANIMATION
    | filters.Sticker.ALL
    | filters.LOCATION
    | filters.VENUE
    | filters.CONTACT
    | filters.Document.ALL
    | filters.POLL
    | filters.Dice.ALL
    | filters.STORY
)


def register(
    application: Application[Any, Any, Any, Any, Any, Any], admin_ids: frozenset[int]
) -> None:
    """Add every handler, the error handler and the repeating jobs."""
    application.add_handler(TypeHandler(Update, limits.enforce), LIMIT_GROUP)
    application.add_handler(TypeHandler(Update, inbox.record), INBOX_GROUP)
    application.add_handler(TypeHandler(Update, inbox.track_incoming), TRACK_GROUP)

    admins = filters.User(user_id=admin_ids) & filters.ChatType.PRIVATE
    private = filters.ChatType.PRIVATE
    main: list[BaseHandler[Any, Any, Any]] = [
        CommandHandler("start", start.start),
        CommandHandler("help", start.show_help),
        CommandHandler("language", start.choose_language),
        CommandHandler("emergency", questions.emergency),
        CommandHandler("orgs", questions.organizations),
        CommandHandler("privacy", privacy.show_privacy),
        CommandHandler("autodelete", privacy.autodelete),
        CommandHandler("forget", privacy.forget),
        CommandHandler("stats", admin.stats, filters=admins),
        CommandHandler("reindex", admin.reindex, filters=admins, block=False),
        CommandHandler("gaps", admin.gaps, filters=admins),
        CallbackQueryHandler(start.language_chosen, pattern=LanguageChoice.pattern),
        CallbackQueryHandler(start.topic_chosen, pattern=TopicChoice.pattern),
        CallbackQueryHandler(privacy.autodelete_chosen, pattern=AutoDeleteChoice.pattern),
        CallbackQueryHandler(privacy.forget_confirmed, pattern=ForgetChoice.pattern),
        CallbackQueryHandler(callbacks.happening_now, pattern=HappeningNow.pattern),
        CallbackQueryHandler(callbacks.situation_chosen, pattern=SituationChoice.pattern),
        CallbackQueryHandler(callbacks.more_sources, pattern=MoreSources.pattern),
        CallbackQueryHandler(callbacks.who_can_help, pattern=WhoCanHelp.pattern),
        CallbackQueryHandler(callbacks.feedback, pattern=Vote.pattern),
        CallbackQueryHandler(uploads.review, pattern=Review.pattern, block=False),
        CallbackQueryHandler(callbacks.stale_button),
        MessageHandler(admins & filters.Document.ALL, uploads.upload, block=False),
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, questions.on_question),
        MessageHandler(
            filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND & questions.AddressedToBot(),
            questions.on_question,
        ),
        MessageHandler(private & NOT_TEXT, errors.not_text),
        MessageHandler(filters.COMMAND, errors.unknown_command),
    ]
    for handler in main:
        application.add_handler(handler, MAIN_GROUP)
    application.add_handler(TypeHandler(Update, inbox.done), DONE_GROUP)
    application.add_error_handler(errors.on_error)

    jobs = application.job_queue
    if jobs is None:  # pragma: no cover - the job-queue extra is a dependency
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    jobs.run_repeating(privacy.run_due_deletions, DELETIONS_EVERY_S, first=5.0, name="autodelete")
    jobs.run_repeating(privacy.purge_expired, PURGE_EVERY_S, first=60.0, name="retention")
