"""Ingest with the real encoders into embedded Chroma and into a real Chroma server."""

from __future__ import annotations

import pytest

from ingest.index import chroma_client
from ingest.pipeline import Ingestor
from tests.support.chroma import chroma_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]  # builds the shipped index


def _check_index(client, corpus, real_encoders):  # type: ignore[no-untyped-def]
    summary = Ingestor(corpus, client, real_encoders).run()
    assert summary.failed == 0 and summary.added == 4
    again = Ingestor(corpus, client, real_encoders).run()
    assert again.chunks_embedded == 0 and again.unchanged == 4
    use = client.get_collection("waypoint-use")
    query = real_encoders["use"].encode(["Как оспорить красное уведомление Интерпола?"])[0]
    hits = use.query(
        query_embeddings=[query.tolist()],
        n_results=3,
        where={"kind": "document"},
        include=["metadatas"],
    )
    assert hits["metadatas"][0][0]["doc_id"] == "guides/red-notices.md"
    for name, dim in (("minilm", 384), ("use", 512)):
        col = client.get_collection(f"waypoint-{name}")
        assert col.metadata["encoder"] == name and col.metadata["dim"] == dim


def test_real_model_embedded_chroma(corpus, tmp_path, real_encoders):
    _check_index(chroma_client(tmp_path / "chroma", None), corpus, real_encoders)


def test_real_model_chroma_server(corpus, tmp_path, real_encoders):
    with chroma_server(tmp_path / "server") as server:
        _check_index(chroma_client(tmp_path / "unused", server.url), corpus, real_encoders)
