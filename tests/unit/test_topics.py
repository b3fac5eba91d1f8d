"""The topic model: a second reader ranks topics where the primary encoder cannot read."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.engine.topics import TopicModel
from ingest.metadata import Topic

TOPICS = {
    "visas": Topic("visas", {"en": "Visas"}, {"en": "visa refusals and appeals"}, {}),
    "grants": Topic("grants", {"en": "Grants"}, {"en": "emergency grants"}, {}),
    "relocation": Topic("relocation", {"en": "Relocation"}, {"en": "temporary relocation"}, {}),
}


class Fixed:
    """An encoder with a fixed vector per text (one axis per topic)."""

    name = "use"
    dim = 3

    def __init__(self, axes: dict[str, int]) -> None:
        self.axes = axes

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row, next(a for word, a in self.axes.items() if word in text.lower())] = 1.0
        return out


AXES = {"visa": 0, "grant": 1, "relocation": 2}


def test_a_second_reader_reorders_topics_on_the_primary_scale() -> None:
    model = TopicModel(Fixed(AXES), TOPICS)
    # The primary encoder misreads the message (leans to grants); the second reads visas.
    primary = np.array([0.30, 0.40, 0.20], dtype=np.float32)
    second = np.array([0.95, 0.70, 0.75], dtype=np.float32)
    alone = model.score("a message", primary)
    assert alone[0][0] == "grants"
    model.set_reader("e5", Fixed(AXES).encode(model.texts))
    both = model.score("a message", primary, {"use": primary, "e5": second})
    assert both[0][0] == "visas"
    # The scores keep the primary encoder's mean and spread (its thresholds still apply).
    values = np.array([score for _, score in both])
    assert np.isclose(values.mean(), primary.mean(), atol=1e-6)
    assert values.std() <= primary.std() + 1e-6
    # Without the second encoder's vector, the primary reads alone.
    assert model.score("a message", primary, {"use": primary}) == alone


def test_the_topics_of_the_chosen_answer_lead_the_sources() -> None:
    from bot.engine.retrieve import Candidate, led_by, rerank

    scores = [("emergency", 0.30), ("grants", 0.25), ("red-notices", 0.10)]
    lifted = led_by(("red-notices",), scores)
    assert lifted[0] == ("red-notices", 0.30) and dict(lifted)["emergency"] == 0.30
    assert led_by((), scores) == scores

    def doc(topic: str) -> Candidate:
        return Candidate(topic, "text", {"kind": "document", "topics": [topic], "language": "en"})

    # Two documents equally close to the message: the one on the answer's topic comes first.
    ranked = rerank([doc("grants"), doc("red-notices")], lifted, "fa")
    assert ranked[0].id == "red-notices"
    assert rerank([doc("red-notices"), doc("grants")], scores, "fa")[0].id == "grants"
