"""The `waypoint` console script as staff run it (real models, embedded Chroma)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.index import IndexLock
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def waypoint(
    *args: str, data: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, WAYPOINT_DATA_DIR=str(data), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=stdin,
        timeout=300,
        cwd=REPO,
    )


def test_ingest_json_then_unchanged_then_broken_file(corpus, tmp_path):
    data = tmp_path / "data"
    first = waypoint("ingest", "--knowledge", str(corpus), "--json", data=data)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["added"] == 4 and summary["failed"] == 0 and summary["chunks_total"] > 0

    (corpus / "broken.md").write_bytes(b"---\ntitle: [oops\n---\n")
    second = waypoint("ingest", "--knowledge", str(corpus), "--json", data=data)
    assert second.returncode == 1
    summary = json.loads(second.stdout)
    assert summary["unchanged"] == 4 and summary["chunks_embedded"] == 0
    assert summary["errors"] == [{"file": "broken.md", "reason": summary["errors"][0]["reason"]}]
    assert "front matter" in summary["errors"][0]["reason"]


def test_ingest_refuses_while_the_bot_holds_the_index(corpus, tmp_path):
    data = tmp_path / "data"
    lock = IndexLock(data)
    lock.acquire()
    try:
        result = waypoint("ingest", "--knowledge", str(corpus), data=data)
    finally:
        lock.release()
    assert result.returncode == 2
    assert "/reindex" in result.stderr


def test_check_exit_codes(corpus, tmp_path):
    assert waypoint("check", "--knowledge", str(corpus), data=tmp_path).returncode == 0
    (corpus / "bad.md").write_text(
        '---\ntitle: "x"\nsource_url: https://e.org\ntopics: [nope]\n---\nText.\n', encoding="utf-8"
    )
    result = waypoint("check", "--knowledge", str(corpus), data=tmp_path)
    assert result.returncode == 1 and "nope" in result.stdout


def test_malformed_setting_names_the_variable(tmp_path):
    result = waypoint("check", data=tmp_path, env={"WAYPOINT_RETENTION_DAYS": "soon"})
    assert result.returncode == 2
    assert "WAYPOINT_RETENTION_DAYS" in result.stderr


def test_chat_answers_from_stdin(corpus, tmp_path):
    data = tmp_path / "data"
    assert waypoint("ingest", "--knowledge", str(corpus), data=data).returncode == 0
    result = waypoint(
        "chat",
        data=data,
        env={"WAYPOINT_KNOWLEDGE_DIR": str(corpus)},
        stdin="How do I challenge a red notice at the CCF?\n",
    )
    assert result.returncode == 0, result.stderr
    assert "example.org/guides-red-notices.md" in result.stdout  # the answer links its source
