"""The built wheel works on its own: installed non-editable into a fresh venv, `waypoint
ingest` and `waypoint ask` run from an unrelated directory against a small knowledge folder.

The venv gets the wheel and nothing else; the dependencies (torch, Chroma, the encoders) come
from this project's environment through one .pth line (its site-packages, whose own .pth
files, the editable install among them, are not read), so nothing is downloaded twice. The
wheel build itself needs the build backend (hatchling) from the package index.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.llm_stub import LLMStub

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE_FILES = (
    "organizations.yaml",
    "topics.yaml",
    "glossary.yaml",
    "guides/red-notices.md",
    "guides/emergency.md",
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (not editable); returns its bin/ directory."""
    work = tmp_path_factory.mktemp("wheel")
    wheels = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels),
         str(ROOT)],
        check=True, cwd=work,
    )
    (wheel,) = wheels.glob("waypoint-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    Path(site, "waypoint-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--quiet", str(wheel)],
        check=True,
    )
    return venv / "bin"


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        WAYPOINT_KNOWLEDGE_DIR=str(tmp / "knowledge"),
        WAYPOINT_DATA_DIR=str(tmp / "data"),
        WAYPOINT_EMBEDDINGS="minilm",
        WAYPOINT_SECRET_KEY_FILE=str(tmp / "secret.key"),
        **extra,
    )
    return env


def test_the_wheel_carries_its_data(installed):
    code = (
        "import bot, bot.engine.synthesis as s, bot.engine.triage as t, bot.engine.scope as c\n"
        "from pathlib import Path\n"
        "print(bot.__file__); print(s.PROMPTS); print(t.DATA.is_file(), c.DATA.is_file())\n"
        "print(len(list(Path(bot.__file__).parent.glob('locales/*/LC_MESSAGES/*.po'))))\n"
    )
    out = subprocess.run(
        [str(installed / "python"), "-c", code], check=True, capture_output=True, text=True,
        cwd="/",
    ).stdout.split("\n")
    package, prompts, data, catalogs = out[0], out[1], out[2], out[3]
    assert Path(package).is_relative_to(installed.parent)  # the wheel, not the checkout
    assert Path(prompts) == Path(package).parent / "prompts"
    assert (Path(prompts) / "answer.system.md").is_file()
    assert data == "True True"
    assert int(catalogs) >= 6


def test_waypoint_ask_from_the_installed_wheel(installed, tmp_path):
    knowledge = tmp_path / "knowledge"
    for rel in KNOWLEDGE_FILES:
        (knowledge / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "knowledge" / rel, knowledge / rel)
    waypoint = str(installed / "waypoint")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    with LLMStub() as stub:
        stub.reply = "A red notice is not an arrest warrant [1]."
        env = _env(tmp_path, WAYPOINT_LLM_BASE_URL=stub.url, WAYPOINT_LLM_MODEL="stub")
        ingest = subprocess.run(
            [waypoint, "ingest", "--json"], env=env, cwd=elsewhere, capture_output=True,
            text=True, timeout=600,
        )
        assert ingest.returncode == 0, ingest.stderr[-2000:]
        assert json.loads(ingest.stdout.strip().splitlines()[-1])["failed"] == 0
        ask = subprocess.run(
            [waypoint, "ask", "--json", "How do I challenge a red notice?"], env=env,
            cwd=elsewhere, capture_output=True, text=True, timeout=600,
        )
        assert ask.returncode == 0, ask.stderr[-2000:]
        record = json.loads(ask.stdout.strip().splitlines()[-1])
        assert record["answer_found"] and record["passages"]
        assert record["language"] == "en" and not record["emergency"]
        # the LLM was asked with the packaged prompt templates
        assert stub.requests and "Question:" in stub.requests[0]["messages"][-1]["content"]
