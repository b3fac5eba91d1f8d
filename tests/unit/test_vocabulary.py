"""Adding a topic is one edit of knowledge/topics.yaml: validated, retrieved and labelled."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.engine.build import Engine
from bot.handlers.keyboards import topic_keyboard
from ingest.check import check_knowledge
from ingest.index import chroma_client
from ingest.pipeline import Ingestor
from tests.conftest import write_doc

NEW_TOPIC = {
    "id": "housing-rights",
    "names": {"en": "Housing rights", "ru": "Право на жильё"},
    "descriptions": {"en": "Evictions, demolitions and the defenders who resist them."},
    "keywords": {"en": ["eviction", "demolition"]},
}


def _doc(root: Path) -> None:
    write_doc(
        root,
        "guides/evictions.md",
        title="Resisting forced evictions",
        topics="[housing-rights]",
        body="## Forced evictions\n\nA community facing a forced eviction can ask a court to "
        "suspend the demolition while its appeal is heard.\n",
    )


def test_a_new_topic_is_one_entry_in_topics_yaml(corpus: Path, tmp_path: Path, fake_encoders):  # type: ignore[no-untyped-def]
    _doc(corpus)
    before = check_knowledge(corpus)
    assert any("housing-rights" in reason for _, reason in before.errors)  # unknown yet

    path = corpus / "topics.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["topics"].append(NEW_TOPIC)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    assert check_knowledge(corpus).errors == []  # validated
    client = chroma_client(tmp_path / "chroma", None)
    summary = Ingestor(corpus, client, fake_encoders).run()
    assert summary.failed == 0
    engine = Engine(encoders=fake_encoders, client=client, knowledge_dir=corpus)
    answer = engine.answer("forced eviction demolition appeal", topic="housing-rights")
    assert answer.passages and all("housing-rights" in p.topics for p in answer.passages)
    assert engine.vocabulary.name("housing-rights", "ru") == "Право на жильё"  # labelled
    assert engine.vocabulary.name("housing-rights", "tr") == "Housing rights"  # English else
    buttons = [
        b.callback_data
        for row in topic_keyboard("en", engine.vocabulary).inline_keyboard
        for b in row
    ]
    assert "topic:housing-rights" in buttons
