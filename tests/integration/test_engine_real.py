"""The engine with the real encoders over the shipped knowledge, and the eval targets."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.engine.evaluate import evaluate, load_cases
from ingest.check import check_knowledge
from tests.conftest import REPO

# The first test builds the shipped index with every default encoder (minutes on 2 cores).
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


def test_shipped_knowledge_passes_check():
    report = check_knowledge(REPO / "knowledge")
    assert report.ok, report.errors
    assert report.documents >= 20


@pytest.mark.parametrize(
    ("question", "language", "topic"),
    [
        ("Как оспорить красное уведомление Интерпола?", "ru", "red-notices"),
        ("¿Cómo pido medidas cautelares a la CIDH?", "es", "advocacy"),
        ("How do I apply to Shelter City?", "en", "relocation"),
    ],
)
def test_cross_lingual_answers(real_engine, question, language, topic):
    """Contracts, not shipped files: the topic is found, the direct answer is in the
    person's language, and an organization working on that topic is named."""
    answer = real_engine.answer(question)
    assert answer.answer_found and answer.guidance is not None
    assert answer.guidance.language == language
    assert any(topic in p.topics for p in answer.passages[:3])
    directory = real_engine.directory
    assert any(topic in directory[r.id].topics for r in answer.referrals)


def test_emergency_in_arabic_leads_with_the_24_7_line(real_engine):
    answer = real_engine.answer("اعتقلوا زميلي قبل ساعة ولا نعرف أين أخذوه")
    assert answer.emergency and answer.situation == "detention"
    assert answer.emergency_contacts[0].emergency_line
    assert answer.guidance is not None and answer.guidance.language == "ar"
    assert answer.guidance.steps


def test_grant_amount_question_is_not_an_emergency(real_engine):
    assert not real_engine.answer("What was the emergency grant amount last year?").emergency


@pytest.mark.parametrize("question", ["red notice check", "проверить красное уведомление"])
def test_a_few_words_get_a_vetted_answer_not_a_passage(real_engine, question):
    answer = real_engine.answer(question)
    assert answer.answer_found and not answer.emergency
    assert answer.guidance is not None and answer.guidance.kind == "answer"
    assert answer.guidance.do or answer.guidance.dont  # a unit's lists, not a quoted passage


def test_a_calm_answer_carries_the_protocol_for_it_is_happening_now(real_engine):
    answer = real_engine.answer("¿Qué hago si la policía registra nuestra oficina algún día?")
    assert not answer.emergency
    assert answer.if_urgent is not None and answer.if_urgent.steps
    assert answer.if_urgent.language == "es" and answer.if_urgent.situation


@pytest.mark.parametrize("name", ["dev.jsonl", "heldout.jsonl"])
def test_eval_sets_meet_the_targets(real_engine, name):
    result = evaluate(real_engine, load_cases(REPO / "eval" / name))
    hybrid = result["modes"]["hybrid"]
    assert hybrid["by_language"]["en"]["topic@3"] >= 0.90
    assert hybrid["non_english"]["topic@3"] >= 0.80
    assert hybrid["overall"]["org@3"] >= 0.85
    assert hybrid["overall"]["emergency_recall"] == 1.0
    assert hybrid["overall"]["false_alarm_rate"] <= 0.10
    assert hybrid["overall"]["out_of_scope_refusal"] >= 0.90
    # The hybrid is not worse than either baseline (by more than one question of a set this
    # small) and beats BM25-only clearly on topics.
    one_question = 1 / sum(1 for c in load_cases(REPO / "eval" / name) if c.expect_orgs)
    for baseline in ("bm25", "dense"):
        base = result["modes"][baseline]["overall"]
        for metric in ("topic@3", "org@3"):
            # (figures are rounded to 3 decimals, hence the 0.001)
            floor = base[metric] - one_question - 0.001
            assert hybrid["overall"][metric] >= floor, (baseline, metric)
    bm25 = result["modes"]["bm25"]["overall"]
    assert hybrid["overall"]["topic@3"] > bm25["topic@3"]


def test_ask_json_contract(shipped_index):
    env = dict(
        os.environ,
        WAYPOINT_DATA_DIR=str(shipped_index),
        WAYPOINT_KNOWLEDGE_DIR=str(REPO / "knowledge"),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "--json"],
        input="How do I challenge a red notice?\nusd to eur rate today?\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    first, second = (json.loads(line) for line in proc.stdout.splitlines())
    assert set(first) == {
        "question",
        "language",
        "emergency",
        "answer_found",
        "answer",
        "passages",
        "organizations",
    }
    assert first["answer_found"] and first["passages"][0]["url"].startswith("http")
    assert set(first["passages"][0]) == {"doc_id", "title", "url", "topics", "score", "text"}
    assert set(first["organizations"][0]) == {"id", "name", "url"}
    assert not second["answer_found"] and second["passages"] == []
