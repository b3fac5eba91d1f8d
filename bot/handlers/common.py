"""The names `bot.handlers.inbox` still imports from here; everything else imports from
`base` (context, log line, language), `send` (replies, tracking) and `keyboards`."""

from bot.handlers.base import Context, is_private, services
from bot.handlers.send import mark_answered, track

__all__ = ["Context", "is_private", "mark_answered", "services", "track"]
