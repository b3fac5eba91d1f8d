"""Shared fixtures: a small knowledge corpus, a deterministic fake encoder, real encoders."""

from __future__ import annotations

import hashlib
import os
import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

REPO = Path(__file__).resolve().parents[1]


class HashEncoder:
    """Bag of stemmed words hashed into a unit vector: deterministic and cheap."""

    def __init__(self, name: str = "use", dim: int = 64) -> None:
        self.name = name
        self.dim = dim
        self.calls = 0
        self.texts = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        from bot.engine.text import tokens

        self.calls += 1
        self.texts += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for tok in tokens(text):
                h = int.from_bytes(hashlib.blake2b(tok.encode(), digest_size=4).digest(), "big")
                out[row, h % self.dim] += 1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
            if not norm:
                out[row, 0] = 1.0
        return out


ORGS_YAML = """\
organizations:
  - id: front-line-defenders
    name: Front Line Defenders (FLD)
    url: https://www.frontlinedefenders.org/emergency-contact
    status: active
    topics: [emergency, grants]
    offers: ["24-hour emergency phone line", "Protection grants"]
    eligibility: Defenders at risk because of their work
    contact: {phone: "+353 1 21 00 489", hotline_24_7: true, notes: "confirm on the site"}
    languages: [en, ru]
    regions: [global]
  - id: interpol-ccf
    name: Commission for the Control of INTERPOL's Files (CCF)
    url: https://www.interpol.int/ccf
    status: active
    topics: [red-notices]
    offers: ["Deletion of red notices that break the rules"]
    eligibility: Anyone whose data is at issue
    contact: {web_form: "https://www.interpol.int/ccf/portal", notes: "portal only"}
    languages: []
    regions: [global]
  - id: closed-fund
    name: Closed Fund
    url: https://closed.example.org
    status: closed
    topics: [emergency, grants]
    offers: ["Emergency grants (stopped)"]
    eligibility: none
    contact: {email: "closed@example.org", notes: "closed in 2025"}
    languages: []
    regions: [global]
"""


def write_doc(
    root: Path,
    rel: str,
    *,
    title: str,
    topics: str,
    body: str,
    orgs: str = "[]",
    language: str = "en",
    reviewed: str = "2026-11",
) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        textwrap.dedent(
            f"""\
            ---
            title: "{title}"
            source_url: https://example.org/{rel.replace("/", "-")}
            reviewed: {reviewed}
            language: {language}
            topics: {topics}
            organizations: {orgs}
            regions: [global]
            ---
            """
        )
        + body,
        encoding="utf-8",
    )
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A small knowledge/ folder: three guides and the directory."""
    root = tmp_path / "knowledge"
    root.mkdir()
    (root / "organizations.yaml").write_text(ORGS_YAML, encoding="utf-8")
    shutil.copy(REPO / "knowledge" / "topics.yaml", root / "topics.yaml")  # the vocabulary
    write_doc(
        root,
        "guides/red-notices.md",
        title="Challenging a red notice",
        topics="[red-notices]",
        orgs="[interpol-ccf]",
        body="## What a red notice is\n\nA red notice asks police worldwide to locate and "
        "arrest a person pending extradition. It is not an arrest warrant.\n\n"
        "## Challenging it at the CCF\n\nThe CCF accepts requests only through its online "
        "portal. It decides deletion requests within nine months.\n",
    )
    write_doc(
        root,
        "guides/emergency.md",
        title="In danger right now",
        topics="[emergency]",
        orgs="[front-line-defenders]",
        body="## Call the 24/7 line\n\nFront Line Defenders runs an emergency line that "
        "answers day and night. Tell them who you are and what happened.\n",
    )
    write_doc(
        root,
        "guides/visas.md",
        title="Schengen visas for defenders",
        topics="[visas]",
        body="## When to apply\n\nYou can apply for a Schengen visa up to six months before "
        "the trip. Consulates decide within fifteen days as a rule.\n",
    )
    return root


@pytest.fixture
def fake_encoders() -> dict[str, HashEncoder]:
    return {"use": HashEncoder("use", 512)}


@pytest.fixture(scope="session")
def real_encoders():  # type: ignore[no-untyped-def]
    from ingest.encoders import DEFAULT_EMBEDDINGS
    from ingest.service import load_encoders

    return load_encoders(DEFAULT_EMBEDDINGS)  # what users get


@pytest.fixture(scope="session")
def shipped_index(tmp_path_factory, real_encoders):  # type: ignore[no-untyped-def]
    """The shipped knowledge/ ingested once with the real encoders into an embedded index."""
    from ingest.service import ingest

    data_dir = tmp_path_factory.mktemp("shipped-data")
    summary = ingest(
        knowledge_dir=REPO / "knowledge", data_dir=data_dir, chroma_url=None, encoders=real_encoders
    )
    assert summary.failed == 0, summary.errors
    return data_dir


@pytest.fixture(scope="session")
def real_engine(shipped_index, real_encoders):  # type: ignore[no-untyped-def]
    from bot.engine.build import Engine
    from ingest.index import chroma_client

    return Engine(
        encoders=real_encoders,
        client=chroma_client(shipped_index / "chroma", None),
        knowledge_dir=REPO / "knowledge",
    )
