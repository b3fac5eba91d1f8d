"""The engine: built once (models, index, BM25, directory), then `answer()` per message."""

from __future__ import annotations

import concurrent.futures as cf
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.engine import choose
from bot.engine.compose import SentencePicker
from bot.engine.compose import passages as make_passages
from bot.engine.config import EngineConfig, HasEngineConfig, as_engine_config
from bot.engine.language import detect_language, encoders_can_read, native_script
from bot.engine.reading import MessageReader, Words, words_of
from bot.engine.referrals import Referrals
from bot.engine.retrieve import Candidate, LexicalIndex, Retriever, led_by, rerank
from bot.engine.types import Answer, Guidance, Referral
from bot.engine.units import UnitBook
from ingest.encoders import BatchingEncoder, Encoder, encode_as, memo_embed
from ingest.index import Collection, IndexLock, chroma_client, open_collections
from ingest.metadata import Vocabulary, load_organizations
from ingest.schema import IngestSummary

logger = logging.getLogger(__name__)

# Chosen on ../shared/eval/dev.jsonl (see `waypoint eval`); a question whose best evidence
# scores under RELEVANCE_FLOOR is answered as "nothing found".
RELEVANCE_FLOOR = 0.245
EMERGENCY_LIFT = 0.05
SHOWN_PASSAGES = 3
SEARCH_DEADLINE_S = 2.5  # past this the index counts as unavailable for this answer
RELOAD_EVERY_S = 10.0  # how often an unavailable index is retried


class Engine:
    """The answer engine: one message in, one `Answer` out (`answer()`), over the index and
    the knowledge it was built from; `reindex()` brings both up to date while it answers."""

    def __init__(
        self,
        *,
        encoders: dict[str, Encoder],
        client: Any,
        knowledge_dir: Path,
        connect: Any = None,
        config: EngineConfig | None = None,
        lock: IndexLock | None = None,
    ) -> None:
        self.config = config
        self.encoders = encoders
        self.client = client
        self.connect = connect  # makes a client when there is none yet (a server that was down)
        self.knowledge_dir = knowledge_dir
        self.lock = lock
        self.primary = "use" if "use" in encoders else next(iter(encoders))
        self.directory = load_organizations(knowledge_dir / "organizations.yaml")
        self.referrals = Referrals(self.directory)
        primary = encoders[self.primary]
        self.vocabulary = Vocabulary.from_dir(knowledge_dir)
        # What a message asks (which answer unit, whether it is an emergency, whether it is
        # ours) is read by e5 where it is loaded: it knows more languages than USE. Example
        # messages are embedded once however often the readers are refitted.
        self.reader = "e5" if "e5" in encoders else self.primary
        self._embed = memo_embed(encoders[self.reader])
        self.reading = MessageReader(primary, self.vocabulary, self.reader, self._embed)
        if self.reader != self.primary:  # topics are read by both encoders
            topics = self.reading.topic_model
            topics.set_reader(
                self.reader, encode_as(encoders[self.reader], topics.texts, "passage")
            )
        self.picker = SentencePicker(primary.encode)
        self.collections: dict[str, Collection] = {}
        self.retriever: Retriever | None = None
        self.units = UnitBook(())
        self._pool = cf.ThreadPoolExecutor(max_workers=4, thread_name_prefix="search")
        self._last_load = 0.0
        self.synthesizer: Any = None
        if config is not None and config.llm_enabled:
            from bot.engine.synthesis import Synthesizer

            assert config.llm_base_url and config.llm_model
            self.synthesizer = Synthesizer(
                config.llm_base_url, config.llm_model, config.llm_timeout
            )
        remote = config is not None and config.chroma_url is not None
        try:
            self.load_index()
        except Exception as exc:
            if not remote:
                raise
            # A Chroma server that is down at start: answer with contacts, retry later.
            logger.error("index unavailable at start (%s); will retry", type(exc).__name__)

    # -- index -------------------------------------------------------------------------
    def load_index(self) -> None:
        """(Re)open the collections and rebuild the in-memory BM25 from their entries."""
        self._last_load = time.monotonic()
        if self.client is None:
            self.client = self.connect()
        dims = {name: enc.dim for name, enc in self.encoders.items()}
        collections = open_collections(self.client, dims, create=False)
        entries = list(collections[self.primary].entries())
        self.collections = collections
        self.retriever = Retriever(collections, LexicalIndex(entries))
        units = UnitBook(entries)
        ids, vectors = collections[self.primary].vectors({"unit_kind": "protocol"})
        units.set_protocol_vectors(ids, vectors)
        intents = units.intents()
        units.set_intent_vectors([g for g, _ in intents], self._embed([t for _, t in intents]))
        self.reading.learn(units)
        self.units = units
        logger.info("index loaded: %d entries, encoders %s", len(entries), ",".join(dims))

    def index_size(self) -> int:
        """Entries in the index (0 when the index server is unreachable)."""
        try:
            return self.collections[self.primary].count() if self.collections else 0
        except Exception:  # server unreachable
            return 0

    def reindex(self) -> IngestSummary:
        """Bring the index up to date with knowledge/ while answering goes on."""
        from ingest.service import ingest

        summary = ingest(
            knowledge_dir=self.knowledge_dir,
            data_dir=self.config.data_dir if self.config else self.knowledge_dir,
            chroma_url=self.config.chroma_url if self.config else None,
            encoders=self.encoders,
            client=self.client,
            lock=False,  # the running engine holds the index lock already
        )
        self.load_index()
        self.directory = load_organizations(self.knowledge_dir / "organizations.yaml")
        self.referrals = Referrals(self.directory)
        return summary

    # -- answering ---------------------------------------------------------------------
    def detect_language(self, text: str) -> str:
        """The message's language code (see `bot.engine.language`)."""
        return detect_language(text)

    def organizations(self, topic: str | None = None, language: str = "en") -> list[Referral]:
        """The directory, or one topic's part of it, described in `language`."""
        return self.referrals.for_topic(topic, language)

    def emergency_contacts(self, language: str = "en") -> tuple[Referral, ...]:
        """The organizations with a 24/7 line, described in `language`."""
        return self.referrals.emergency(language)

    def situation_protocol(self, situation: str, language: str = "en") -> Guidance | None:
        """The protocol for one situation the person chose, in `language` where it exists."""
        return choose.situation_protocol(self.units, situation, (language,))

    def weights(self, language: str) -> dict[str, float]:
        """Each retriever's weight in the fusion: the English-only ones count less elsewhere."""
        english = language == "en"
        return {
            "use": 1.0,
            "e5": 1.0,
            "minilm": 1.0 if english else 0.25,
            "bm25": 1.0 if english else 0.5,
        }

    def encode_query(self, question: str) -> dict[str, np.ndarray]:
        """The message's vector from each encoder, read in its language's own script."""
        return self._encode(native_script(question, detect_language(question)))

    def _encode(self, native: str) -> dict[str, np.ndarray]:
        return {name: encode_as(enc, [native], "query")[0] for name, enc in self.encoders.items()}

    def answer(
        self,
        question: str,
        *,
        language: str | None = None,
        topic: str | None = None,
        mode: str = "hybrid",
        vectors: dict[str, np.ndarray] | None = None,
    ) -> Answer:
        """Answer one message from a person: never raises for bad input, never blocks long.

        `language` is the interface language the person chose (None: follow the message);
        `topic` restricts retrieval to one topic; `mode` selects the retrieval baseline for
        `waypoint eval` (hybrid, dense or bm25); `vectors` are precomputed query vectors.
        The result carries the interface language to reply in (`ui_language`), the direct
        answer or emergency protocol (`guidance`), up to three organizations, the passages
        behind it, and why nothing was answered when that is the case (`refusal`).
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        words = words_of(question, language)
        question, lang, ui, text = words.question, words.language, words.ui, words.text
        readers = (lang, ui)  # a unit is shown in the message's language, else the interface's
        vectors = vectors or self._encode(words.native)  # language and script are known already
        timings["encode"] = _ms(t0)
        qvec = vectors[self.primary]
        reading = self.reading.read(words, vectors, self.primary, self.referrals.named_in(question))
        emergency = reading.emergency
        base = Answer(
            question_language=lang,
            ui_language=ui,
            emergency=emergency,
            answer_found=False,
            emergency_contacts=self.emergency_contacts(ui) if emergency else (),
        )
        if reading.injection:
            return replace(
                base,
                refusal="injection" if question else None,
                general_contacts=self.emergency_contacts(ui),
                timings_ms=timings,
            )
        if reading.locate:  # never help find or identify a person: the bot may hunt defenders
            return replace(base, refusal="locate_person", timings_ms=timings)
        topic_scores = reading.topic_scores
        if emergency:  # immediate danger: the emergency material leads whatever else was asked
            best = topic_scores[0][1] if topic_scores else 0.0
            topic_scores = [("emergency", best + EMERGENCY_LIFT)] + [
                ts for ts in topic_scores if ts[0] != "emergency"
            ]
        where: dict[str, Any] | None = {"topics": {"$contains": topic}} if topic else None
        # The documents are searched on their own as well: with every unit in eleven languages
        # the units alone can fill the shared pool, leaving no sources for a reader whose
        # language has units but no guides (Ukrainian, Persian).
        documents_only = {"kind": "document"}
        t1 = time.perf_counter()
        try:
            retriever = self._available_retriever()

            def search(scope: dict[str, Any] | None) -> cf.Future[list[Candidate]]:
                return self._pool.submit(
                    retriever.search,
                    words.native,
                    vectors,
                    weights=self.weights(lang),
                    where=scope,
                    mode=mode,
                )

            deadline = time.monotonic() + SEARCH_DEADLINE_S
            candidates = search(where).result(timeout=SEARCH_DEADLINE_S)
        except Exception as exc:  # the index (a Chroma server) is unreachable or too slow
            logger.warning("search unavailable: %s", type(exc).__name__)
            return replace(
                base,
                search_unavailable=True,
                general_contacts=self.emergency_contacts(ui),
                guidance=self._protocol(qvec, vectors, readers, words) if emergency else None,
                timings_ms=timings,
            )
        # The sources' own search runs after the answer's (they would compete for a cold
        # index) and only improves them: late or failed, the shared pool's documents serve.
        try:
            sources_only = {"$and": [where, documents_only]} if where else documents_only
            documents = search(sources_only).result(timeout=max(0.0, deadline - time.monotonic()))
        except Exception as exc:
            logger.info("documents search skipped: %s", type(exc).__name__)
            documents = [c for c in candidates if c.kind == "document"]
        timings["search"] = _ms(t1)
        # Organizations matched directly by the question, before topics reorder anything.
        direct = {str(c.metadata.get("org_id")) for c in candidates[:5] if c.kind == "organization"}
        ranked = rerank(candidates, topic_scores, lang)
        relevance = max(self._relevance(ranked, qvec), topic_scores[0][1] if topic_scores else 0.0)
        # A message naming one of our organizations is ours whatever else it says; one naming
        # a topic's keyword passes the relevance floor (short queries: "kirmizi bulten?").
        outside = reading.outside
        relevant = relevance >= RELEVANCE_FLOOR or reading.anchored
        found = bool(ranked) and (emergency or (relevant and not outside))
        # The closest topics, and any topic the message names by keyword ("pegasus" makes a
        # journalist's question a digital-security one too).
        closest = [t for t, s in topic_scores[:3] if s >= topic_scores[0][1] - 0.05]
        named_topics = self.reading.topic_model.named(text)
        detected = tuple(dict.fromkeys(closest + named_topics))
        if not found:
            return replace(
                base,
                topics=detected,
                # An everyday question is told so; a question of ours without a vetted answer
                # gets the organizations that can help directly.
                refusal="out_of_scope" if outside else "not_found",
                general_contacts=self.emergency_contacts(ui),
                timings_ms=timings,
            )
        unit = self._protocol(qvec, vectors, readers, words) if emergency else None
        if unit is None and reading.calm_unit is not None:
            unit = choose.unit_in(self.units, reading.calm_unit, readers)
        if unit is None:
            unit = choose.answer_unit(
                self.units,
                ranked,
                readers,
                vectors[self.reader],
                self.primary,
                detected,
                words=len(question.split()),
            )
        # The sources shown under a unit are on the unit's topics first: the unit was chosen
        # by the reader that knows the message's language, the topic scores partly by one
        # that may not (a Persian red-notice question read as an emergency one).
        sources = rerank(
            documents, led_by(choose.unit_topics(self.units, unit), topic_scores), lang
        )
        guidance = unit or choose.passage(self.picker, sources, qvec, lang)
        shown = make_passages(sources, text)
        preferred = choose.unit_organizations(self.units, guidance)
        referrals = tuple(
            self.referrals.rank(
                text,
                ui,
                topic_scores,
                ranked,
                emergency=emergency,
                direct=direct,
                preferred=preferred,
            )
        )
        synthesized = None
        if self.synthesizer is not None and mode == "hybrid" and not emergency:
            t2 = time.perf_counter()
            synthesized = self.synthesizer.write(question, ui, shown[:SHOWN_PASSAGES], guidance)
            timings["synthesis"] = _ms(t2)
        timings["total"] = _ms(t0)
        return replace(
            base,
            answer_found=True,
            topics=detected,
            passages=shown,
            referrals=referrals,
            synthesized=synthesized,
            guidance=guidance,
            situation=guidance.situation if guidance and emergency else None,
            if_urgent=None if emergency else self._protocol(qvec, vectors, readers, words),
            timings_ms=timings,
        )

    def _protocol(
        self,
        qvec: np.ndarray,
        vectors: dict[str, np.ndarray],
        readers: tuple[str, ...],
        words: Words,
    ) -> Guidance | None:
        """The protocol for the situation the message describes; None (the general first
        steps) when the situation model is unsure which situation it is, or when the encoders
        cannot read how the message is written (Arabic in Latin letters): their vectors place
        such a message nowhere in particular, and the wrong protocol is worse than none."""
        if not encoders_can_read(words.question):
            return None
        text = words.text
        situations = self.reading.situations
        if situations.fitted and self.reader in vectors:
            situation = situations.classify(vectors)
            if situation is None:
                return None
            return choose.protocol(self.units, qvec, readers, text, situation)
        return choose.protocol(self.units, qvec, readers, text)

    def _available_retriever(self) -> Retriever:
        if self.retriever is None:
            if time.monotonic() - self._last_load < RELOAD_EVERY_S:
                raise ConnectionError("index unavailable")
            self.load_index()
        assert self.retriever is not None
        return self.retriever

    def close(self) -> None:
        """Stop the search pool and the encoders' batching threads; release the index lock."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for encoder in self.encoders.values():
            stop = getattr(encoder, "close", None)
            if stop is not None:  # the micro-batching worker threads
                stop()
        if self.lock is not None:
            self.lock.release()

    def _relevance(self, ranked: list[Candidate], qvec: np.ndarray) -> float:
        """Best similarity of the question to any entry, by the primary (multilingual) encoder."""
        sims = [c.dense[self.primary] for c in ranked if self.primary in c.dense]
        if not sims:  # a lexical-only ranking (the BM25 baseline): ask the index directly
            sims = [h.similarity for h in self.collections[self.primary].query(qvec, 5)]
        return max(sims, default=0.0)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def build_engine(source: EngineConfig | HasEngineConfig, *, hold_lock: bool = True) -> Engine:
    """Load the configured encoders and open the index (embedded or CHROMA_URL)."""
    settings = as_engine_config(source)
    from ingest.service import load_encoders

    lock = IndexLock(settings.data_dir, enabled=hold_lock and settings.chroma_url is None)
    lock.acquire()

    def connect() -> Any:
        return chroma_client(
            settings.chroma_dir,
            settings.chroma_url,
            token=settings.chroma_token,
            ca_file=settings.chroma_ca_file,
        )

    try:
        client = connect()
    except Exception as exc:
        if settings.chroma_url is None:
            raise
        logger.error("Chroma server %s unreachable (%s)", settings.chroma_url, type(exc).__name__)
        client = None
    # Concurrent questions share the encoders through micro-batches.
    encoders: dict[str, Encoder] = {
        name: BatchingEncoder(encoder)
        for name, encoder in load_encoders(settings.embeddings).items()
    }
    return Engine(
        encoders=encoders,
        client=client,
        connect=connect,
        knowledge_dir=settings.knowledge_dir,
        config=settings,
        lock=lock,
    )
