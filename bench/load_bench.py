"""Load and drain: the real Application, the real engine and the real store, in-process,
against the Bot API stand-in on 127.0.0.1.

1. Load — 50 users ask 5 questions each (eval/dev.jsonl, cycling), arriving spread over
   10 s: every question answered exactly once, time to reply, throughput, memory growth;
   against the raw encoders' own batch throughput, measured in the same run.
2. Drain — 500 questions queued in the stand-in while the bot was down, then the bot starts:
   every question answered exactly once, drain time and rate.

Exactly once: in a private chat the bot does not reply *to* the question, so each answer is
traced instead. Its last message carries the answer keyboard, whose buttons hold a token; the
token leads to the `Answer` the handler kept in `user_data`; a thin wrapper around the engine
records which question text produced each `Answer` object. A user's 5 questions are distinct
texts, so (user, question) names one pushed update. An answer split in several messages is
found by rendering the `Answer` again (`render_answer`): the message whose text is the first
part is the first reply. Any other message sent to these users, any failed send, any answer
not traced to a question, any question with two answers, and any inbox row left pending count
as failures.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import shutil
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, machine, percentile, rss_mb, write_section

COMMAND = "make bench (python -m bench load)"
USERS = 50
PER_USER = 5
SPREAD_S = 10.0
DRAIN_UPDATES = 500
DRAIN_USERS = 100
RATE_LIMIT = 100  # per user per minute: high enough not to interfere
ENCODE_QUESTIONS = 250
ENCODE_BATCH = 32
ENCODE_ROUNDS = 2  # best of
WARMUP_QUESTIONS = 40
WARMUP_USERS = 20
DEADLINE_S = 300.0  # give up waiting for answers after this
QUIET_S = 2.0  # after the last expected answer: time for a duplicate to show up
LANGUAGE_CODE = "en"  # Telegram's language_code of every simulated user
LOAD_BASE_ID = 710_000_000
WARMUP_BASE_ID = 720_000_000
DRAIN_BASE_ID = 730_000_000
CHAT_ID_LIMITER_RATE = 30.0  # PTB's AIORateLimiter: requests carrying a chat_id, per second


def questions() -> list[str]:
    lines = (ROOT / "eval" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["q"] for line in lines if line.strip()]


# -- the engine, observed ----------------------------------------------------------------------


class RecordingEngine:
    """The real engine; remembers which question each `Answer` object answered, and how long
    `answer()` took and how many ran at once (it runs in worker threads)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.asked: dict[int, tuple[str, Any]] = {}  # id(Answer) -> (question, Answer)
        self.seconds: list[float] = []
        self.stages: dict[str, list[float]] = defaultdict(list)
        self.active = 0
        self.peak = 0
        self._lock = threading.Lock()

    def answer(self, question: str, **kwargs: Any) -> Any:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        start = time.perf_counter()
        try:
            result = self.engine.answer(question, **kwargs)
        finally:
            with self._lock:
                self.active -= 1
        with self._lock:
            self.seconds.append(time.perf_counter() - start)
            for stage, ms in (getattr(result, "timings_ms", None) or {}).items():
                self.stages[stage].append(ms)
            self.asked[id(result)] = (question, result)
        return result

    def reset(self) -> None:
        with self._lock:
            self.seconds.clear()
            self.stages.clear()
            self.peak = self.active

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def encoder_batches(engine: Any) -> int:
    return sum(getattr(enc, "batches", 0) for enc in engine.encoders.values())


def close_encoders(engine: Any) -> None:
    """Stop the BatchingEncoder workers (Engine.close does not), so their models can go."""
    for enc in engine.encoders.values():
        close = getattr(enc, "close", None)
        if callable(close):
            close()


# -- the Application, as `waypoint run` starts it (tests/e2e/conftest.py: running) -------------


@asynccontextmanager
async def running(settings: Any, engine: Any) -> AsyncIterator[Any]:
    from bot.app import ALLOWED_UPDATES, build_application
    from bot.services import Services

    application = build_application(
        settings, Services(settings=settings, engine_factory=lambda _s: engine)
    )
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0.0, timeout=1, allowed_updates=ALLOWED_UPDATES
    )
    await application.start()
    try:
        yield application
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)


async def settled(application: Any, timeout: float = 30.0) -> None:
    """Wait until every update received so far has been handled to the end."""
    deadline = time.monotonic() + timeout
    while application.bot_data.inflight or application.update_queue.qsize():
        if time.monotonic() > deadline:
            raise TimeoutError("updates still in flight")
        await asyncio.sleep(0.01)


# -- pushing and tracing -----------------------------------------------------------------------


@dataclass
class Pushed:
    user_id: int
    question: str
    at: float  # time.monotonic(), the stand-in's clock for calls too


def plan(base_id: int, users: int, count: int, qs: Sequence[str]) -> list[tuple[Any, str]]:
    """Update i: user i % users asks qs[i % len(qs)] (a user's questions are distinct)."""
    from tests.support.botapi import User

    people = [User(id=base_id + n, first_name=f"U{n}", language_code=LANGUAGE_CODE)
              for n in range(users)]
    out = [(people[i % users], qs[i % len(qs)]) for i in range(count)]
    for person in people:
        mine = [q for p, q in out if p is person]
        assert len(mine) == len(set(mine)), "a user's questions must be distinct"
    return out


def push_now(api: Any, items: Sequence[tuple[Any, str]]) -> list[Pushed]:
    pushed = []
    for user, text in items:
        api.push_text(user, text)
        pushed.append(Pushed(user.id, text, time.monotonic()))
    return pushed


async def push_spread(api: Any, items: Sequence[tuple[Any, str]], spread_s: float) -> list[Pushed]:
    pushed: list[Pushed] = []
    start = time.monotonic()
    for i, (user, text) in enumerate(items):
        delay = start + i * spread_s / len(items) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        api.push_text(user, text)
        pushed.append(Pushed(user.id, text, time.monotonic()))
    return pushed


def answer_token(message: dict[str, Any]) -> str | None:
    """The token in an answer keyboard's "Who can help" button (orgs:<token>:<topic>)."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            data = str(button.get("callback_data") or "")
            if data.startswith("orgs:"):
                return data.split(":")[1]
    return None


async def wait_answers(api: Any, users: set[int], since: int, count: int) -> None:
    """Wait until `count` answers (messages with the answer keyboard) reached `users`."""
    deadline = time.monotonic() + DEADLINE_S
    seen, pos = 0, since
    while True:
        calls = api.calls[pos:]  # the call log only grows; read each call once
        pos += len(calls)
        seen += sum(
            1
            for c in calls
            if c.method == "sendMessage"
            and c.ok
            and c.result["chat"]["id"] in users
            and answer_token(c.result) is not None
        )
        if seen >= count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {seen} of {count} questions answered")
        await asyncio.sleep(0.05)


@dataclass
class Trace:
    questions: int
    answered: int  # distinct pushed questions with at least one answer
    twice: int  # questions with more than one answer
    untraced: int  # answer messages not traced to a pushed question
    extra: int  # other messages sent to these users (not part of any answer)
    failed_sends: int
    split: int  # answers sent in more than one message
    first_part_unmatched: int  # split answers whose first part was not found (timed by last)
    ttr: list[float]  # seconds from push to the first reply message, per question
    first_reply: float  # monotonic time of the first reply message
    last_reply: float  # monotonic time of the last answer's last message
    chat_calls: int  # requests with a chat_id (through the AIORateLimiter) to these users
    messages: int  # messages sent to these users
    actions: int  # sendChatAction ("typing") calls for these users

    @property
    def exactly_once(self) -> bool:
        return (
            self.answered == self.questions
            and not (self.twice or self.untraced or self.extra or self.failed_sends)
        )


def trace(api: Any, application: Any, rec: RecordingEngine, pushed: list[Pushed],
          since: int) -> Trace:
    from bot.i18n import resolve
    from bot.render import render_answer

    users = {p.user_id for p in pushed}
    by_key = {(p.user_id, p.question): p for p in pushed}
    assert len(by_key) == len(pushed)
    calls = api.calls[since:]
    sends = [c for c in calls if c.method == "sendMessage" and int(c.params.get("chat_id", 0))
             in users]
    ok = [c for c in sends if c.ok]
    claimed: set[int] = set()
    answers: dict[tuple[int, str], list[float]] = defaultdict(list)
    untraced = split = unmatched = 0
    last_reply = 0.0
    for n, call in enumerate(ok):
        token = answer_token(call.result)
        if token is None:
            continue
        claimed.add(n)
        chat = call.result["chat"]["id"]
        kept = (application.user_data.get(chat) or {}).get("answers") or {}
        answer = kept.get(token)
        question, recorded = rec.asked.get(id(answer), (None, None))
        if answer is None or recorded is not answer or (chat, question) not in by_key:
            untraced += 1
            continue
        first = call.at
        parts = render_answer(answer, resolve(None, answer.question_language, LANGUAGE_CODE))
        if len(parts) > 1:
            split += 1
            earlier = [
                m for m in range(n)
                if m not in claimed and ok[m].result["chat"]["id"] == chat
                and ok[m].params.get("text") == parts[0]
            ]
            if earlier:
                claimed.add(earlier[-1])
                first = ok[earlier[-1]].at
                claimed.update(
                    m for m in range(earlier[-1], n)
                    if m not in claimed and ok[m].result["chat"]["id"] == chat
                    and ok[m].params.get("text") in parts[1:]
                )
            else:
                unmatched += 1
        answers[(chat, question)].append(first)
        last_reply = max(last_reply, call.at)
    ttr = [min(times) - by_key[key].at for key, times in answers.items()]
    return Trace(
        questions=len(pushed),
        answered=len(answers),
        twice=sum(1 for times in answers.values() if len(times) > 1),
        untraced=untraced,
        extra=len(ok) - len(claimed),
        failed_sends=len(sends) - len(ok),
        split=split,
        first_part_unmatched=unmatched,
        ttr=ttr,
        first_reply=min((min(t) for t in answers.values()), default=float("nan")),
        last_reply=last_reply,
        chat_calls=sum(1 for c in calls if int(c.params.get("chat_id", 0) or 0) in users),
        messages=len(ok),
        actions=sum(
            1
            for c in calls
            if c.method == "sendChatAction" and int(c.params.get("chat_id", 0) or 0) in users
        ),
    )


async def inbox_left(application: Any) -> int:
    return len(await application.bot_data.store.inbox_pending())


# -- 0. the encoders' own batch throughput -------------------------------------------------------


def encoder_throughput(encoders: dict[str, Any], qs: Sequence[str]) -> dict[str, float]:
    """Questions/s for `encoders` together (each question needs every encoder), batches of 32."""
    texts = [qs[i % len(qs)] for i in range(ENCODE_QUESTIONS)]
    for enc in encoders.values():
        enc.encode(texts[:ENCODE_BATCH])  # warm
    best: dict[str, tuple[float, float]] = {}  # name -> (wall s, process CPU s) of the best
    for _ in range(ENCODE_ROUNDS):
        for name, enc in encoders.items():
            start, cpu = time.perf_counter(), time.process_time()
            for lo in range(0, len(texts), ENCODE_BATCH):
                enc.encode(texts[lo : lo + ENCODE_BATCH])
            took = (time.perf_counter() - start, time.process_time() - cpu)
            best[name] = min(best.get(name, took), took)
    out = {f"{name}_qps": len(texts) / wall for name, (wall, _) in best.items()}
    out["both_qps"] = len(texts) / sum(wall for wall, _ in best.values())
    out["cpu_ms"] = 1000 * sum(cpu for _, cpu in best.values()) / len(texts)
    return out


# -- 1. load --------------------------------------------------------------------------------------


async def load_run(settings: Any, engine: RecordingEngine, qs: Sequence[str]) -> dict[str, Any]:
    from tests.support.botapi import BotAPI

    async with BotAPI() as api:
        settings = settings.with_(telegram_api_base_url=api.base_url)
        async with running(settings, engine) as application:
            warm = plan(WARMUP_BASE_ID, WARMUP_USERS, WARMUP_QUESTIONS, qs)
            mark = api.mark()
            push_now(api, warm)
            await wait_answers(api, {u.id for u, _ in warm}, mark, len(warm))
            await settled(application)
            gc.collect()
            rss_before = rss_mb()
            engine.reset()
            batches_before = encoder_batches(engine)

            items = plan(LOAD_BASE_ID, USERS, USERS * PER_USER, qs)
            users = {u.id for u, _ in items}
            mark = api.mark()
            cpu = time.process_time()
            pushed = await push_spread(api, items, SPREAD_S)
            await wait_answers(api, users, mark, len(items))
            cpu = time.process_time() - cpu
            await asyncio.sleep(QUIET_S)
            await settled(application)
            gc.collect()
            rss_after = rss_mb()
            result = trace(api, application, engine, pushed, mark)
            left = await inbox_left(application)
            batches = encoder_batches(engine) - batches_before
    first_push = pushed[0].at
    span = result.last_reply - first_push
    return {
        "trace": result,
        "inbox_left": left,
        "arrival_s": pushed[-1].at - first_push,
        "span_s": span,
        "qps": result.answered / span,
        "cpu_ms": 1000 * cpu / len(items),
        "rss_before": rss_before,
        "rss_after": rss_after,
        "growth": rss_after / rss_before - 1,
        "engine_s": list(engine.seconds),
        "stages": {k: list(v) for k, v in engine.stages.items()},
        "peak_concurrency": engine.peak,
        "batches": batches,
    }


# -- 2. drain -------------------------------------------------------------------------------------


async def drain_run(settings: Any, qs: Sequence[str]) -> dict[str, Any]:
    from bot.engine.build import build_engine
    from tests.support.botapi import BotAPI

    async with BotAPI() as api:
        settings = settings.with_(telegram_api_base_url=api.base_url)
        items = plan(DRAIN_BASE_ID, DRAIN_USERS, DRAIN_UPDATES, qs)
        pushed = push_now(api, items)  # the bot is down: they wait in getUpdates
        t0 = time.perf_counter()
        engine = RecordingEngine(await asyncio.to_thread(build_engine, settings))
        engine_load = time.perf_counter() - t0
        mark = api.mark()
        start, cpu = time.monotonic(), time.process_time()
        try:
            async with running(settings, engine) as application:
                await wait_answers(api, {u.id for u, _ in items}, mark, len(items))
                cpu = time.process_time() - cpu
                await asyncio.sleep(QUIET_S)
                await settled(application)
                result = trace(api, application, engine, pushed, mark)
                left = await inbox_left(application)
        finally:
            close_encoders(engine)
    drain = result.last_reply - start
    return {
        "trace": result,
        "inbox_left": left,
        "engine_load_s": engine_load,
        "first_reply_s": result.first_reply - start,
        "drain_s": drain,
        "qps": result.answered / drain,
        "cpu_ms": 1000 * cpu / len(items),
        "engine_s": list(engine.seconds),
        "peak_concurrency": engine.peak,
        "batches": encoder_batches(engine),
    }


# -- the run --------------------------------------------------------------------------------------


def _once(t: Trace, inbox: int) -> str:
    verdict = "yes" if t.exactly_once and inbox == 0 else "**NO**"
    return (
        f"{verdict}: {t.answered}/{t.questions} answered, {t.twice} twice, "
        f"{t.untraced} untraced, {t.extra} other messages, {t.failed_sends} failed sends, "
        f"{inbox} left in the inbox ({t.split} answers in several messages"
        + (f", {t.first_part_unmatched} timed by their last" if t.first_part_unmatched else "")
        + ")"
    )


def run() -> dict[str, float]:
    from bot.engine.build import build_engine
    from bot.settings import Settings
    from ingest.encoders import DEFAULT_EMBEDDINGS
    from ingest.service import ingest, load_encoders

    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)  # long polls cut at stop
    qs = questions()
    load_avg = os.getloadavg()[0]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        seed = Path(tmp) / "seed"
        encoders = load_encoders(DEFAULT_EMBEDDINGS)
        raw = encoder_throughput(encoders, qs)
        summary = ingest(
            knowledge_dir=ROOT / "knowledge", data_dir=seed, chroma_url=None, encoders=encoders
        )
        assert summary.failed == 0, summary.errors
        del encoders
        gc.collect()

        def settings_for(name: str) -> Settings:
            data = Path(tmp) / name
            data.mkdir()
            shutil.copytree(seed / "chroma", data / "chroma")
            return Settings(
                data_dir=data,
                knowledge_dir=ROOT / "knowledge",
                telegram_bot_token="123456:TEST-token_for-the-stand-in",
                secret_key="bench-secret-key-0123456789abcdef",
                embeddings=DEFAULT_EMBEDDINGS,
                rate_limit_per_minute=RATE_LIMIT,
            )

        load_settings = settings_for("load")
        engine = RecordingEngine(build_engine(load_settings))
        try:
            load = asyncio.run(load_run(load_settings, engine, qs))
        finally:
            close_encoders(engine)
            del engine
            gc.collect()
        drain = asyncio.run(drain_run(settings_for("drain"), qs))
    total = time.perf_counter() - started

    lt: Trace = load["trace"]
    dt: Trace = drain["trace"]
    both = raw["both_qps"]
    load_ratio = load["qps"] / both
    drain_ratio = drain["qps"] / both
    arrival_qps = lt.questions / load["arrival_s"]
    engine_ms = [s * 1000 for s in load["engine_s"]]
    stages = load["stages"]
    encode_ms = statistics.fmean(stages["encode"]) if stages.get("encode") else float("nan")
    search_ms = statistics.fmean(stages["search"]) if stages.get("search") else float("nan")
    calls_per_answer = dt.chat_calls / max(dt.answered, 1)
    limiter_cap = CHAT_ID_LIMITER_RATE / calls_per_answer
    cores = os.cpu_count() or 1
    setup = (
        f"{machine()}; load average {load_avg:.1f} when it started (the machine is shared: "
        "figures move with what else runs)"
    )
    write_section(
        "Load",
        f"""
Command: `{COMMAND}` — {setup}. The real Application in-process (python-telegram-bot, long
polling, AIORateLimiter, 16 concurrent updates), the real engine (`build_engine`: the default
encoders, {DEFAULT_EMBEDDINGS}, behind `BatchingEncoder`, embedded Chroma over the shipped knowledge) and the
real SQLite store, against the Bot API stand-in on 127.0.0.1 in the same process. {USERS} users
× {PER_USER} questions (eval/dev.jsonl, cycling), arriving evenly over {SPREAD_S:.0f} s; rate
limit {RATE_LIMIT}/user/min; {WARMUP_QUESTIONS} warm-up questions first. Whole benchmark
(models, ingest, both scenarios): {total:.0f} s.

| measure | value | target |
|---|---|---|
| every question answered exactly once | {_once(lt, load["inbox_left"])} | all, once |
| time to reply (push → first reply message) | p50 {percentile(lt.ttr, 0.5):.2f} s, p95 {percentile(lt.ttr, 0.95):.2f} s (max {max(lt.ttr):.2f} s) | |
| arrivals offered | {arrival_qps:.1f} questions/s ({lt.questions} in {load["arrival_s"]:.1f} s) | |
| answer throughput under load (first push → last answer) | {load["qps"]:.1f} questions/s ({lt.questions} in {load["span_s"]:.1f} s) | |
| raw encoders, batches of {ENCODE_BATCH} ({ENCODE_QUESTIONS} questions through minilm, then use) | {both:.1f} questions/s (minilm {raw["minilm_qps"]:.1f}, use {raw["use_qps"]:.1f}) | |
| **throughput ratio (answers under load / raw encoders)** | **{load_ratio:.2f}** | ≥ 0.7 |
| CPU per question (whole process: bot, engine, stand-in) | {load["cpu_ms"]:.0f} ms; raw encoders {raw["cpu_ms"]:.0f} ms ({cores} cores: ≤ {cores * 1000 / load["cpu_ms"]:.0f} answers/s if every core were busy) | |
| `engine.answer` in its worker thread | p50 {percentile(engine_ms, 0.5):.0f} ms, p95 {percentile(engine_ms, 0.95):.0f} ms; mean encode {encode_ms:.0f} ms, search {search_ms:.0f} ms; at most {load["peak_concurrency"]} at once; {2 * lt.questions / max(load["batches"], 1):.1f} texts per encoder batch | |
| resident memory after warm-up → after the run | {load["rss_before"]:.0f} MB → {load["rss_after"]:.0f} MB (**{load["growth"] * 100:+.1f}%**) | ≤ +10% |
""",
    )
    write_section(
        "Drain",
        f"""
Command: `{COMMAND}` — {setup}. {DRAIN_UPDATES} questions from {DRAIN_USERS} users queued in
the stand-in while the bot was down, then the bot starts (the same Application, engine and
store as under "Load", fresh data dir). Timed from the start of the Application (`initialize`,
`post_init`, polling) with the engine built; building it (models, index, BM25) took
{drain["engine_load_s"]:.1f} s before that.

| measure | value | target |
|---|---|---|
| every queued question answered exactly once | {_once(dt, drain["inbox_left"])} | all, once |
| drain time (start → last reply) | **{drain["drain_s"]:.1f} s** (first reply after {drain["first_reply_s"]:.2f} s) | |
| drain rate | **{drain["qps"]:.1f} questions/s** | |
| **throughput ratio (drain rate / raw encoders)** | **{drain_ratio:.2f}** | ≥ 0.7 |
| CPU per question (whole process) | {drain["cpu_ms"]:.0f} ms; raw encoders {raw["cpu_ms"]:.0f} ms | |
| requests carrying a chat_id per answer | {calls_per_answer:.2f} ({dt.messages / dt.answered:.2f} sendMessage, {dt.actions / dt.answered:.2f} sendChatAction "typing"): AIORateLimiter's {CHAT_ID_LIMITER_RATE:.0f} such requests/s cap answers at **{limiter_cap:.1f}/s** | |
""",
    )
    return {
        "load_all_once": float(lt.exactly_once and load["inbox_left"] == 0),
        "load_p50_s": percentile(lt.ttr, 0.5),
        "load_p95_s": percentile(lt.ttr, 0.95),
        "load_qps": load["qps"],
        "raw_encoder_qps": raw["both_qps"],
        "load_ratio": load_ratio,
        "rss_growth": load["growth"],
        "drain_all_once": float(dt.exactly_once and drain["inbox_left"] == 0),
        "drain_s": drain["drain_s"],
        "drain_qps": drain["qps"],
        "drain_ratio": drain_ratio,
        "drain_limiter_cap_qps": limiter_cap,
        "load_cpu_ms_per_question": load["cpu_ms"],
        "drain_cpu_ms_per_question": drain["cpu_ms"],
        "raw_encoder_cpu_ms_per_question": raw["cpu_ms"],
        "seconds": total,
    }


if __name__ == "__main__":
    print(run())
