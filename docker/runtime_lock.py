"""Write docker/requirements.runtime.lock: the runtime dependencies only, pinned as in
requirements.lock, each with the sha256 of the file pip installs in the image; and
docker/requirements.build.lock: the build backend (hatchling) with its dependencies, hashed.

    .venv/bin/python docker/runtime_lock.py

Which packages: the closure of `[project].dependencies` in pyproject.toml, read from the
installed distributions' metadata (markers evaluated for Linux, CPython 3.11); dev tools
(pytest, ruff, mypy, hypothesis, build) are not in it. Which versions: requirements.lock's
pins. Which hashes: `pip install --dry-run --report` for the image's platform (manylinux
x86_64, CPython 3.11, wheels only) reports the file it would install and its sha256, read from
the package index (no download of the packages themselves). The CPU torch build comes from
the PyTorch index; its hash is that of the same wheel file in the configured find-links.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
OUT = ROOT / "docker" / "requirements.runtime.lock"
BUILD_OUT = ROOT / "docker" / "requirements.build.lock"
IMAGE_PYTHON = "3.11.14"  # the Python of the Dockerfile's base image (python:3.11.14-slim-bookworm)
# python:3.11-slim-bookworm is Debian 12 (glibc 2.36) on x86_64: any manylinux tag up to 2_36 fits.
_TAGS = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)]
_TAGS += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
PLATFORM = (
    *(arg for tag in _TAGS for arg in ("--platform", tag)),
    "--python-version", IMAGE_PYTHON, "--implementation", "cp", "--abi", "cp311", "--abi", "abi3",
    "--abi", "none",
)
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"
# Required by torch, installed with pip in the python base image, not pinned by the project.
IN_BASE_IMAGE = {"setuptools"}


def _build_backend() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (backend,) = project["build-system"]["requires"]
    return str(backend)


BUILD_BACKEND = _build_backend()


def pins(path: Path = LOCK) -> dict[str, str]:
    """Canonical name → pinned version, from a requirements file."""
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        match = re.match(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if match:
            out[canonicalize_name(match.group(1))] = match.group(2)
    return out


def runtime_closure() -> set[str]:
    """Canonical names of every distribution the project needs at run time."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    env: dict[str, str] = {str(k): str(v) for k, v in default_environment().items()}
    env.update(sys_platform="linux", platform_system="Linux", platform_machine="x86_64",
               python_version="3.11", implementation_name="cpython")
    todo = [Requirement(r) for r in project["project"]["dependencies"]]
    seen: dict[str, set[str]] = {}
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        extras = set(req.extras)
        if name in seen and extras <= seen[name]:
            continue
        seen.setdefault(name, set()).update(extras)
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            child = Requirement(spec)
            active = [""] + sorted(seen[name])
            if child.marker is None or any(
                child.marker.evaluate(dict(env, extra=extra)) for extra in active
            ):
                todo.append(child)
    return set(seen)


def hashes(wanted: dict[str, str]) -> dict[str, list[str]]:
    """sha256 of the file pip would install for each pin on the image's platform."""
    return {name: digests for name, (_, digests) in _resolve(
        [f"{n}=={v}" for n, v in sorted(wanted.items())], deps=False
    ).items()}


def _resolve(requirements: list[str], *, deps: bool) -> dict[str, tuple[str, list[str]]]:
    """Canonical name → (version, [sha256]) of what pip would install on the image."""
    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp, "r.txt")
        reqs.write_text("".join(f"{r}\n" for r in requirements))
        report = Path(tmp, "report.json")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet",
             *([] if deps else ["--no-deps"]), "--ignore-installed", "--only-binary=:all:",
             *PLATFORM, "--report", str(report), "-r", str(reqs)],
            check=True,
        )
        data = json.loads(report.read_text())
    out: dict[str, tuple[str, list[str]]] = {}
    for item in data["install"]:
        name = canonicalize_name(item["metadata"]["name"])
        version = item["metadata"]["version"]
        digest = item["download_info"].get("archive_info", {}).get("hashes", {}).get("sha256")
        if digest is None:  # a local file without a hash in its URL: hash it
            url = item["download_info"]["url"]
            digest = _sha256(Path(url.removeprefix("file://")))
        out[name] = (version, [digest])
    return out


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    locked = pins()
    needed = runtime_closure() - IN_BASE_IMAGE
    missing = sorted(needed - set(locked))
    if missing:
        print(f"not pinned in requirements.lock: {', '.join(missing)}", file=sys.stderr)
        return 1
    wanted = {name: locked[name] for name in sorted(needed)}
    digests = hashes(wanted)
    lines = [
        "# Runtime dependencies of the image, pinned as in requirements.lock, with hashes.",
        "# Generated by docker/runtime_lock.py; do not edit by hand.",
        f"--extra-index-url {TORCH_INDEX}",
        "",
    ]
    for name, version in wanted.items():
        lines.append(f"{name}=={version} \\")
        lines += [f"    --hash=sha256:{d}" for d in digests[name][:-1]]
        lines.append(f"    --hash=sha256:{digests[name][-1]}")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{OUT.relative_to(ROOT)}: {len(wanted)} packages")
    build = _resolve([BUILD_BACKEND], deps=True)
    lines = [
        "# The wheel's build backend and its dependencies, with hashes (the image's build stage).",
        "# Generated by docker/runtime_lock.py; do not edit by hand.",
        "",
    ]
    for name, (version, hashed) in sorted(build.items()):
        lines += [f"{name}=={version} \\", f"    --hash=sha256:{hashed[0]}"]
    BUILD_OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{BUILD_OUT.relative_to(ROOT)}: {len(build)} packages")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
