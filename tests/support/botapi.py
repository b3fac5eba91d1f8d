"""A Bot API stand-in: an aiohttp server on 127.0.0.1 that answers like Telegram does.

It implements what Waypoint calls (getMe, real long-polling getUpdates, sendMessage,
sendDocument (by file_id), editMessageText, editMessageReplyMarkup, answerCallbackQuery,
sendChatAction, deleteMessage(s), getFile and file downloads, setWebhook/deleteWebhook,
setMyCommands, close/logOut), records every call, and rejects what Telegram rejects (over-long
text, malformed HTML, oversized callback data, unknown messages) with Telegram's error JSON.
Faults can be injected per method (429 with retry_after, 5xx, 403, a delay before handling, a
response held back after handling), for everything (an outage), or for getUpdates as when a
second instance polls with the same token (409 Conflict). Tests push user updates with the
`push_*` helpers and await the bot's replies with `wait_*`. `transport()` serves the same API to
an httpx client in the same process, without a socket (handler unit tests).
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
import urllib.parse
from collections import defaultdict, deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import ClientSession, ClientTimeout, web

TOKEN = "123456:TEST-token_for-the-stand-in"
BOT_ID = 123456
BOT_USERNAME = "waypoint_test_bot"
MAX_TEXT_UNITS = 4096
MAX_CALLBACK_BYTES = 64
MAX_FILE_BYTES = 20 * 1024 * 1024
DELETE_WINDOW_S = 48 * 3600

# Parameters Telegram takes as plain strings; everything else arrives JSON-encoded.
_STRING_PARAMS = {
    "text",
    "caption",
    "parse_mode",
    "callback_query_id",
    "url",
    "secret_token",
    "file_id",
    "action",
    "ip_address",
    "language_code",
    "inline_message_id",
    "emoji",
    "document",
}
_ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ATTRS = r"""((?:\s+[A-Za-z-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?)*)"""
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)" + _ATTRS + r"\s*>")
_PARSE = "Bad Request: can't parse entities: "
_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_TERMINATED = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """An error Telegram would answer with."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _bad(reason: str) -> ApiError:
    return ApiError(400, _PARSE + reason)


def _at(text: str, pos: int) -> str:
    """Where an error is, as Telegram reports it (worked out only when there is one)."""
    return f"at byte offset {len(text[:pos].encode('utf-8'))}"


def parse_html(text: str) -> str:
    """Telegram's HTML parse mode: return the visible text or raise ApiError like Telegram."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "<":
            m = _TAG.match(text, pos)
            if not m:
                raise _bad(f"Unclosed start tag {_at(text, pos)}")
            closing, name = m.group(1) == "/", m.group(2).lower()
            if closing and not stack:
                raise _bad(f"Unexpected end tag {_at(text, pos)}")
            if closing and stack[-1] != name:
                raise _bad(
                    f"Unmatched end tag {_at(text, pos)}, "
                    f'expected "</{stack[-1]}>", found "</{name}>"'
                )
            if closing:
                stack.pop()
            elif name not in _ALLOWED_TAGS:
                raise _bad(f'Unsupported start tag "{name}" {_at(text, pos)}')
            elif name == "a" and "href" not in m.group(3):
                raise _bad(f"<a> without href {_at(text, pos)}")
            else:
                stack.append(name)
            pos = m.end()
        elif ch == "&":
            m = _ENTITY.match(text, pos)
            if not m:
                raise _bad(f"Character '&' is reserved and must be escaped {_at(text, pos)}")
            body = m.group(1)
            if body.startswith("#"):
                out.append(html.unescape(m.group(0)))
            elif body in _NAMED:
                out.append(_NAMED[body])
            else:
                raise _bad(f'Unsupported HTML entity "&{body};" {_at(text, pos)}')
            pos = m.end()
        else:
            out.append(ch)
            pos += 1
    if stack:
        raise _bad(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def visible_text(text: str, parse_mode: str | None) -> str:
    if "\x00" in text:
        raise ApiError(400, "Bad Request: text must be encoded in UTF-8")
    plain = parse_html(text) if (parse_mode or "").upper() == "HTML" else text
    if not plain.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if units(plain) > MAX_TEXT_UNITS:
        raise ApiError(400, "Bad Request: message is too long")
    return plain


def check_markup(markup: Any) -> None:
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not str(button.get("text", "")).strip():
                raise ApiError(400, "Bad Request: BUTTON_TEXT_EMPTY")  # pragma: no cover
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_BYTES:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"^(https?|tg)://\S+$", str(url)):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")


@dataclass
class User:
    id: int
    first_name: str = "Test"
    language_code: str | None = "en"
    username: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code:
            data["language_code"] = self.language_code
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    ok: bool
    result: Any = None
    error: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Fault:
    # "retry_after" | "server_error" | "forbidden" | "bad_request" | "delay" (wait, then
    # handle) | "late" (handle, then hold the response back: the client may time out although
    # Telegram did what it asked)
    kind: str
    retry_after: int = 1
    status: int = 500
    delay: float = 0.0
    description: str = ""


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    data: dict[str, Any]


class BotAPI:
    """The stand-in server. `async with BotAPI() as api:` or start()/stop()."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, content)
        self.callbacks: dict[str, float] = {}  # open callback query id -> time issued
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.last_allowed_updates: list[str] | None = None
        self.clock_offset = 0.0
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._outage = False
        self._conflict = False
        self._update_ids = itertools.count(1000)
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._file_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.long_polls = 0  # getUpdates calls waiting right now (the bot is polling)
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> BotAPI:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def stop(self) -> None:
        self._closing = True
        self._new_update.set()  # end pending long polls now
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def now(self) -> int:
        return int(time.time() + self.clock_offset)

    # -- faults --------------------------------------------------------------------------------

    def fail(self, method: str, times: int = 1, kind: str = "retry_after", **options: Any) -> None:
        """Make the next `times` calls of `method` ("*" for any) fail with `kind`."""
        for _ in range(times):
            self._faults[method].append(Fault(kind=kind, **options))

    def outage(self, on: bool = True) -> None:
        """While on, every call answers 502 Bad Gateway (getUpdates included)."""
        self._outage = on

    def conflict(self, on: bool = True) -> None:
        """While on, getUpdates answers 409 as when another instance polls with this token."""
        self._conflict = on
        self._new_update.set()  # a poll waiting now is terminated, as Telegram does

    def _take_fault(self, method: str) -> Fault | None:
        for key in (method, "*"):
            if self._faults[key]:
                return self._faults[key].popleft()
        return None

    # -- HTTP ------------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            params.update(body or {})
            return params
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = value.file.read()
            elif key in _STRING_PARAMS:
                params[key] = value
            else:
                try:
                    params[key] = json.loads(value)
                except ValueError:
                    params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        status, body, late = await self.dispatch(request.match_info["token"], method, params)
        if late:
            await asyncio.sleep(late)  # done and recorded; the answer comes too late
        return web.json_response(body, status=status)

    async def dispatch(
        self, token: str, method: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any], float]:
        """Handle one Bot API call: (HTTP status, JSON body, seconds to hold the answer back)."""
        if token != self.token:
            return self._error_response(method, params, ApiError(401, "Unauthorized"))
        if self._outage:
            return self._error_response(method, params, ApiError(502, "Bad Gateway"))
        if self._conflict and method.lower() == "getupdates":
            return self._error_response(method, params, ApiError(409, _TERMINATED))
        fault = self._take_fault(method)
        late = 0.0
        if fault is not None:
            if fault.kind == "delay":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "late":
                late = fault.delay
            else:
                return self._error_response(method, params, _fault_error(fault))
        handler = getattr(self, f"_m_{method.lower()}", None)
        if handler is None:
            return self._error_response(method, params, ApiError(404, "Not Found"))
        try:
            result = await handler(params)
        except ApiError as exc:
            return self._error_response(method, params, exc)
        self._record(Call(method, params, True, result=result))
        return 200, {"ok": True, "result": result}, late

    def _error_response(
        self, method: str, params: dict[str, Any], exc: ApiError
    ) -> tuple[int, dict[str, Any], float]:
        self._record(Call(method, params, False, error=exc.description))
        body: dict[str, Any] = {"ok": False, "error_code": exc.code, "description": exc.description}
        if exc.parameters:
            body["parameters"] = exc.parameters
        return exc.code, body, 0.0

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    async def _download(self, request: web.Request) -> web.StreamResponse:
        content = self.file_content(request.match_info["token"], request.match_info["path"])
        return web.Response(status=404) if content is None else web.Response(body=content)

    def file_content(self, token: str, path: str) -> bytes | None:
        """A file's bytes for a download (None: unknown file or wrong token)."""
        if token != self.token:
            return None
        for file_path, content in self.files.values():
            if file_path == path:
                self._record(Call("download", {"path": path}, True))
                return content
        return None

    # -- in-process, without a server ------------------------------------------------------------

    IN_PROCESS_URL = "http://botapi.invalid"

    def transport(self) -> httpx.MockTransport:
        """The same API for an httpx client in this process (no socket): pass it to
        `build_application(..., transport=api.transport())` with `in_process_base_url`."""

        async def handle(request: httpx.Request) -> httpx.Response:
            path = request.url.path
            download = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
            if download is not None:
                content = self.file_content(download.group(1), download.group(2))
                return httpx.Response(404 if content is None else 200, content=content or b"")
            call = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
            if call is None:
                return httpx.Response(404)
            params = _form_params(request)
            status, body, _late = await self.dispatch(call.group(1), call.group(2), params)
            return httpx.Response(status, json=body)

        return httpx.MockTransport(handle)

    @property
    def in_process_base_url(self) -> str:
        return f"{self.IN_PROCESS_URL}/bot"

    # -- methods ---------------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Waypoint",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getme(self, p: dict[str, Any]) -> Any:
        return self.me()

    async def _m_getupdates(self, p: dict[str, Any]) -> Any:
        if self.webhook is not None:
            raise ApiError(409, _CONFLICT)
        offset = int(p.get("offset") or 0)
        limit = int(p.get("limit") or 100)
        timeout = float(p.get("timeout") or 0)
        allowed = p.get("allowed_updates")
        if allowed is not None:
            self.last_allowed_updates = list(allowed)
        deadline = time.monotonic() + timeout
        if offset:  # confirms what came before, once, when the request arrives (as Telegram)
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        while True:
            if self._conflict:  # another getUpdates request terminated this one
                raise ApiError(409, _TERMINATED)
            if self.last_allowed_updates:
                self.updates = [u for u in self.updates if _kind(u) in self.last_allowed_updates]
            fresh = [u for u in self.updates if u["update_id"] >= offset]
            if fresh or self._closing or time.monotonic() >= deadline:
                return fresh[:limit]
            self._new_update.clear()
            self.long_polls += 1
            self._changed.set()
            try:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            finally:
                self.long_polls -= 1

    async def _m_sendmessage(self, p: dict[str, Any]) -> Any:
        chat_id = _chat_id(p)
        text = str(p.get("text", ""))
        visible_text(text, p.get("parse_mode"))
        markup = p.get("reply_markup")
        check_markup(markup)
        message_id = next(self._message_ids[chat_id])
        data = {
            "message_id": message_id,
            "date": self.now(),
            "chat": _chat(chat_id),
            "from": self.me(),
            "text": text,
        }
        if markup:
            data["reply_markup"] = markup
        self.messages[(chat_id, message_id)] = StoredMessage(
            chat_id, message_id, self.now(), True, data
        )
        return data

    async def _m_senddocument(self, p: dict[str, Any]) -> Any:
        """A document sent again by file_id (uploads are not accepted here)."""
        chat_id = _chat_id(p)
        file_id = str(p.get("document", ""))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = str(p.get("caption") or "")
        if units(caption) > 1024:
            raise ApiError(400, "Bad Request: message caption is too long")
        visible_text(caption, p.get("parse_mode"))
        markup = p.get("reply_markup")
        check_markup(markup)
        message_id = next(self._message_ids[chat_id])
        path, content = self.files[file_id]
        data = {
            "message_id": message_id,
            "date": self.now(),
            "chat": _chat(chat_id),
            "from": self.me(),
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_size": len(content),
            },
            "caption": caption,
        }
        if markup:
            data["reply_markup"] = markup
        self.messages[(chat_id, message_id)] = StoredMessage(
            chat_id, message_id, self.now(), True, data
        )
        return data

    async def _m_editmessagetext(self, p: dict[str, Any]) -> Any:
        stored = self._bot_message(p, "Bad Request: message to edit not found")
        text = str(p.get("text", ""))
        visible_text(text, p.get("parse_mode"))
        markup = p.get("reply_markup")
        check_markup(markup)
        if text == stored.data.get("text") and markup == stored.data.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        stored.data["text"] = text
        stored.data.pop("reply_markup", None)
        if markup:
            stored.data["reply_markup"] = markup
        return stored.data

    async def _m_editmessagereplymarkup(self, p: dict[str, Any]) -> Any:
        stored = self._bot_message(p, "Bad Request: message to edit not found")
        markup = p.get("reply_markup")
        check_markup(markup)
        if markup == stored.data.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        stored.data.pop("reply_markup", None)
        if markup:
            stored.data["reply_markup"] = markup
        return stored.data

    def _bot_message(self, p: dict[str, Any], missing: str) -> StoredMessage:
        key = (_chat_id(p), int(p.get("message_id") or 0))
        stored = self.messages.get(key)
        if stored is None or not stored.from_bot:
            raise ApiError(400, missing)
        return stored

    async def _m_answercallbackquery(self, p: dict[str, Any]) -> Any:
        query_id = str(p.get("callback_query_id", ""))
        issued = self.callbacks.pop(query_id, None)
        if issued is None or time.monotonic() - issued > 15 * 60:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(str(p.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _m_sendchataction(self, p: dict[str, Any]) -> Any:
        _chat_id(p)
        return True

    async def _m_deletemessage(self, p: dict[str, Any]) -> Any:
        key = (_chat_id(p), int(p.get("message_id") or 0))
        stored = self.messages.get(key)
        if stored is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        if stored.chat_id > 0 and self.now() - stored.date > DELETE_WINDOW_S:
            raise ApiError(400, "Bad Request: message can't be deleted for everyone")
        del self.messages[key]
        return True

    async def _m_deletemessages(self, p: dict[str, Any]) -> Any:
        chat_id = _chat_id(p)
        ids = p.get("message_ids") or []
        if not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: MESSAGE_IDS_INVALID")
        for message_id in ids:
            stored = self.messages.get((chat_id, int(message_id)))
            if stored is not None and self.now() - stored.date <= DELETE_WINDOW_S:
                del self.messages[(chat_id, int(message_id))]
        return True

    async def _m_getfile(self, p: dict[str, Any]) -> Any:
        file_id = str(p.get("file_id", ""))
        if file_id not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        path, content = self.files[file_id]
        if len(content) > MAX_FILE_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(content),
            "file_path": path,
        }

    async def _m_setwebhook(self, p: dict[str, Any]) -> Any:
        url = str(p.get("url", ""))
        if url and not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        self.webhook = dict(p) if url else None
        if p.get("allowed_updates") is not None:
            self.last_allowed_updates = list(p["allowed_updates"])
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _m_deletewebhook(self, p: dict[str, Any]) -> Any:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _m_getwebhookinfo(self, p: dict[str, Any]) -> Any:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }

    async def _m_setmycommands(self, p: dict[str, Any]) -> Any:
        commands = p.get("commands") or []
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[str(p.get("language_code") or "")] = commands
        return True

    async def _m_deletemycommands(self, p: dict[str, Any]) -> Any:
        self.commands.pop(str(p.get("language_code") or ""), None)
        return True

    async def _m_getmycommands(self, p: dict[str, Any]) -> Any:
        return self.commands.get(str(p.get("language_code") or ""), [])

    async def _m_close(self, p: dict[str, Any]) -> Any:
        return True

    async def _m_logout(self, p: dict[str, Any]) -> Any:
        return True

    # -- pushing updates -------------------------------------------------------------------------

    def push(self, payload: dict[str, Any], update_id: int | None = None) -> dict[str, Any]:
        """Queue one update (an "update_id" is added unless given) for getUpdates."""
        update = {
            "update_id": update_id if update_id is not None else next(self._update_ids),
            **payload,
        }
        self.updates.append(update)
        self._new_update.set()
        return update

    def _user_message(
        self, user: User, chat: dict[str, Any] | None = None, **content: Any
    ) -> dict[str, Any]:
        chat = chat or {"id": user.id, "type": "private", "first_name": user.first_name}
        message_id = next(self._message_ids[chat["id"]])
        message = {
            "message_id": message_id,
            "date": self.now(),
            "chat": chat,
            "from": user.to_dict(),
            **content,
        }
        self.messages[(chat["id"], message_id)] = StoredMessage(
            chat["id"], message_id, self.now(), False, message
        )
        return message

    def push_text(
        self,
        user: User,
        text: str,
        *,
        chat: dict[str, Any] | None = None,
        entities: list[dict[str, Any]] | None = None,
        update_id: int | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A text message; `reply_to` is a message it answers (e.g. one the bot sent)."""
        content: dict[str, Any] = {"text": text}
        if entities:
            content["entities"] = entities
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        return self.push({"message": self._user_message(user, chat, **content)}, update_id)

    def push_command(
        self,
        user: User,
        command: str,
        args: str = "",
        *,
        chat: dict[str, Any] | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        head = command if command.startswith("/") else f"/{command}"
        text = f"{head} {args}".strip()
        entity = {"type": "bot_command", "offset": 0, "length": units(head)}
        return self.push_text(user, text, chat=chat, entities=[entity], update_id=update_id)

    def push_callback(
        self, user: User, message: dict[str, Any], data: str, *, update_id: int | None = None
    ) -> dict[str, Any]:
        query_id = f"cb{next(self._callback_ids)}"
        self.callbacks[query_id] = time.monotonic()
        stored = self.messages.get((message["chat"]["id"], message["message_id"]))
        shown = stored.data if stored else message
        query = {
            "id": query_id,
            "from": user.to_dict(),
            "chat_instance": "ci1",
            "message": shown,
            "data": data,
        }
        return self.push({"callback_query": query}, update_id)

    def add_file(self, content: bytes, name: str = "file.bin") -> str:
        number = next(self._file_ids)
        file_id = f"file{number}"
        suffix = re.sub(r"[^a-z0-9.]", "", name[name.rfind(".") :].lower()) if "." in name else ""
        self.files[file_id] = (f"documents/file_{number}{suffix}", content)
        return file_id

    def push_document(
        self,
        user: User,
        file_name: str,
        content: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
        size: int | None = None,
    ) -> dict[str, Any]:
        file_id = self.add_file(content, file_name)
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(content) if size is None else size,
        }
        content_fields: dict[str, Any] = {"document": document}
        if caption is not None:
            content_fields["caption"] = caption
        return self.push({"message": self._user_message(user, **content_fields)})

    def push_photo(self, user: User, *, caption: str | None = None) -> dict[str, Any]:
        file_id = self.add_file(b"\x89PNG fake", "photo.jpg")
        photo = [
            {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "width": 90,
                "height": 90,
                "file_size": 9,
            }
        ]
        extra: dict[str, Any] = {"caption": caption} if caption else {}
        return self.push({"message": self._user_message(user, photo=photo, **extra)})

    def push_voice(self, user: User) -> dict[str, Any]:
        file_id = self.add_file(b"OggS fake", "voice.ogg")
        voice = {"file_id": file_id, "file_unique_id": f"u{file_id}", "duration": 3}
        return self.push({"message": self._user_message(user, voice=voice)})

    def push_sticker(self, user: User) -> dict[str, Any]:
        sticker = {
            "file_id": "stk",
            "file_unique_id": "ustk",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.push({"message": self._user_message(user, sticker=sticker)})

    def push_location(self, user: User) -> dict[str, Any]:
        return self.push(
            {"message": self._user_message(user, location={"latitude": 41.0, "longitude": 28.9})}
        )

    def push_contact(self, user: User) -> dict[str, Any]:
        contact = {"phone_number": "+90 555 000 0000", "first_name": "Someone"}
        return self.push({"message": self._user_message(user, contact=contact)})

    def push_group_text(
        self,
        user: User,
        chat_id: int,
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup", "title": "Defenders"}
        return self.push_text(user, text, chat=chat, entities=entities, reply_to=reply_to)

    def push_group_mention(self, user: User, chat_id: int, question: str) -> dict[str, Any]:
        mention = f"@{BOT_USERNAME}"
        entity = {"type": "mention", "offset": 0, "length": len(mention)}
        return self.push_group_text(user, chat_id, f"{mention} {question}", entities=[entity])

    def push_group_command(
        self, user: User, chat_id: int, command: str, args: str = ""
    ) -> dict[str, Any]:
        chat = {"id": chat_id, "type": "supergroup", "title": "Defenders"}
        return self.push_command(user, f"/{command.lstrip('/')}@{BOT_USERNAME}", args, chat=chat)

    async def deliver_webhook(
        self, update: dict[str, Any], *, secret: str | None = "use-registered"
    ) -> int:
        """POST `update` to the registered webhook (with its secret unless told otherwise)."""
        assert self.webhook is not None, "no webhook set"
        headers = {"Content-Type": "application/json"}
        token = self.webhook.get("secret_token") if secret == "use-registered" else secret
        if token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(token)
        async with (
            ClientSession(timeout=ClientTimeout(total=10)) as session,
            session.post(
                str(self.webhook["url"]), data=json.dumps(update), headers=headers
            ) as response,
        ):
            return response.status

    # -- observing ------------------------------------------------------------------------------

    def calls_of(self, method: str, *, ok: bool | None = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    def sent(self, chat_id: int | None = None, since: int = 0) -> list[dict[str, Any]]:
        """Messages the bot sent successfully (sendMessage results), optionally to one chat."""
        return [
            c.result
            for c in self.calls[since:]
            if c.method == "sendMessage"
            and c.ok
            and (chat_id is None or c.result["chat"]["id"] == chat_id)
        ]

    def mark(self) -> int:
        """A position in the call log; pass it as `since` to see only later calls."""
        return len(self.calls)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the bot did not do what the test waited for")
            self._changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.2))

    async def wait_sent(
        self, chat_id: int, count: int = 1, *, since: int = 0, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot sent at least `count` messages to `chat_id` after `since`."""
        await self.wait_until(lambda: len(self.sent(chat_id, since)) >= count, timeout)
        return self.sent(chat_id, since)

    async def wait_call(
        self,
        method: str,
        *,
        since: int = 0,
        ok: bool | None = True,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Call]:
        def matching() -> list[Call]:
            return [
                c for c in self.calls[since:] if c.method == method and (ok is None or c.ok == ok)
            ]

        await self.wait_until(lambda: len(matching()) >= count, timeout)
        return matching()

    async def quiet(self, seconds: float = 0.3) -> None:
        """Let the bot finish whatever it is doing (for asserting that nothing more comes)."""
        await asyncio.sleep(seconds)


def _form_params(request: httpx.Request) -> dict[str, Any]:
    """A PTB request's parameters, decoded as Telegram does (JSON values, plain strings)."""
    content_type = request.headers.get("content-type", "")
    body = request.content
    if content_type.startswith("application/json"):
        return dict(json.loads(body or b"{}"))
    if content_type.startswith("multipart/"):
        raise NotImplementedError("the in-process stand-in takes no file uploads")
    params: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(body.decode(), keep_blank_values=True):
        if key in _STRING_PARAMS:
            params[key] = value
        else:
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
    return params


def _fault_error(fault: Fault) -> ApiError:
    if fault.kind == "retry_after":
        return ApiError(
            429,
            f"Too Many Requests: retry after {fault.retry_after}",
            {"retry_after": fault.retry_after},
        )
    if fault.kind == "forbidden":
        return ApiError(403, fault.description or "Forbidden: bot was blocked by the user")
    if fault.kind == "bad_request":
        return ApiError(400, fault.description or "Bad Request: chat not found")
    return ApiError(fault.status, fault.description or "Internal Server Error")


def _chat_id(p: dict[str, Any]) -> int:
    try:
        return int(p["chat_id"])
    except (KeyError, TypeError, ValueError):
        raise ApiError(400, "Bad Request: chat not found") from None


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "Test"}
    return {"id": chat_id, "type": "supergroup", "title": "Defenders"}


def _kind(update: dict[str, Any]) -> str:
    return next(k for k in update if k != "update_id")
