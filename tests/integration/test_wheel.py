"""The built wheel works on its own: installed non-editable into a fresh venv, `waypoint
ingest` and `waypoint ask` run from an unrelated directory against a small knowledge folder.
And what the Docker image is built from holds together (no container engine runs here: the
image's contract is checked on the Dockerfile, its hashed lock and its entrypoint).

The venv gets the wheel and nothing else; the dependencies (torch, Chroma, the encoders) come
from this project's environment through one .pth line (its site-packages, whose own .pth
files, the editable install among them, are not read), so nothing is downloaded twice. The
wheel build itself needs the build backend (hatchling) from the package index.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support.llm_stub import LLMStub

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


@pytest.mark.integration
@pytest.mark.slow
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


@pytest.mark.integration
@pytest.mark.slow
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


DEV_TOOLS = {"pytest", "pytest-asyncio", "pytest-timeout", "hypothesis", "ruff", "mypy",
             "types-pyyaml"}


def _runtime_lock() -> dict[str, tuple[str, list[str]]]:
    entries: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in (ROOT / "docker" / "requirements.runtime.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "--extra-index-url")):
            continue
        if line.startswith("--hash=sha256:"):
            entries[name][1].append(line.removeprefix("--hash=sha256:"))
            continue
        name, _, version = line.rstrip(" \\").partition("==")
        entries[name] = (version, [])
    return entries


def test_runtime_lock_is_requirements_lock_without_dev_tools():
    sys.path.insert(0, str(ROOT / "docker"))
    try:
        import runtime_lock
    finally:
        sys.path.remove(str(ROOT / "docker"))
    locked = runtime_lock.pins()
    entries = _runtime_lock()
    assert entries, "docker/requirements.runtime.lock is empty"
    for name, (version, digests) in entries.items():
        assert locked.get(name) == version, f"{name}: {version} vs requirements.lock"
        assert digests and all(len(d) == 64 for d in digests), f"{name} has no hash"
    assert not DEV_TOOLS & set(entries)
    needed = runtime_lock.runtime_closure() - runtime_lock.IN_BASE_IMAGE
    assert needed <= set(entries), f"missing: {sorted(needed - set(entries))}"


def test_dockerfile_contract():
    text = (ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines()]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.\d+-slim", text, re.M)  # exact release
    assert "pip install --require-hashes --no-deps -r /tmp/requirements.runtime.lock" in text
    assert "--extra-index-url" not in text  # only inside the hashed lock
    users = [line for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("USER root", "USER 0")
    assert any(line.startswith("HEALTHCHECK") for line in lines) and "/healthz" in text
    assert 'VOLUME ["/data", "/keys"]' in text
    assert "WAYPOINT_KNOWLEDGE_DIR=/data/knowledge" in text
    assert "requirements.lock -r" not in text and "pip install -r requirements.lock" not in text


def test_entrypoint_refreshes_knowledge_and_keeps_uploads(tmp_path):
    shipped = tmp_path / "shipped"
    (shipped / "guides").mkdir(parents=True)
    (shipped / "guides" / "visas.md").write_text("new")
    (shipped / "organizations.yaml").write_text("orgs")
    live = tmp_path / "data" / "knowledge"
    (live / "uploads").mkdir(parents=True)
    (live / "uploads" / "report.pdf").write_text("uploaded")
    (live / "guides").mkdir()
    (live / "guides" / "visas.md").write_text("old")
    (live / "guides" / "removed.md").write_text("gone from the image")
    env = dict(os.environ, WAYPOINT_SHIPPED_KNOWLEDGE=str(shipped),
               WAYPOINT_KNOWLEDGE_DIR=str(live))
    done = subprocess.run(
        ["sh", str(ROOT / "docker" / "entrypoint.sh"), "echo", "started"], env=env,
        capture_output=True, text=True, check=True,
    )
    assert done.stdout.strip() == "started"
    assert (live / "guides" / "visas.md").read_text() == "new"
    assert not (live / "guides" / "removed.md").exists()
    assert (live / "organizations.yaml").read_text() == "orgs"
    assert (live / "uploads" / "report.pdf").read_text() == "uploaded"
