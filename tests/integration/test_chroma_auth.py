"""Chroma server mode with token authentication and TLS, against real servers.

Chroma 1.x's `chroma run` (the Rust server) does not read CHROMA_SERVER_AUTHN_*: the first
test shows it, so that the docs never rely on it. Chroma's own token authentication lives in
its Python server (`uvicorn chromadb.app:app`, shipped in the same chromadb package), which
needs `fastapi` beside chromadb; uvicorn terminates TLS itself. The server runs in a
separate environment (a venv that sees this project's packages through a .pth file, plus
fastapi), created once and kept in pytest's cache directory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.errors import IndexError_
from ingest.index import CA_FILE_ENV, TOKEN_ENV, Collection, chroma_client
from ingest.pipeline import Ingestor
from tests.support.chroma import ChromaServer, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "waypoint-test-token-0123456789"
AUTH_ENV = {
    "CHROMA_SERVER_AUTHN_PROVIDER": "chromadb.auth.token_authn.TokenAuthenticationServerProvider",
    "CHROMA_SERVER_AUTHN_CREDENTIALS": TOKEN,
}
SERVER_PACKAGES = ("fastapi==0.165.0", "opentelemetry-instrumentation-fastapi==0.66b2")
COLLECTIONS = "/api/v2/tenants/default_tenant/databases/default_database/collections"


def _status(url: str, token: str | None = None, context: object = None) -> int:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:  # type: ignore[arg-type]
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def test_rust_chroma_run_ignores_the_auth_settings(tmp_path, monkeypatch):
    """Why the deployment uses Chroma's Python server (or a proxy) for authentication."""
    for name, value in AUTH_ENV.items():
        monkeypatch.setenv(name, value)
    server = ChromaServer(tmp_path / "rust")
    server.start()
    try:
        assert _status(server.url + COLLECTIONS) == 200  # no token, and still served
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server_python(pytestconfig: pytest.Config) -> Path:
    """A Python that has this project's packages and fastapi (created once, cached)."""
    venv = Path(pytestconfig.cache.mkdir("chroma-server-venv"))
    python = venv / "bin" / "python"
    ready = venv / ".ready"
    if not ready.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        Path(site, "waypoint-project.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *SERVER_PACKAGES],
            capture_output=True, text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot install {', '.join(SERVER_PACKAGES)}: {done.stderr[-300:]}")
        ready.write_text("ok")
    return python


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = directory / "key.pem", directory / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


@pytest.fixture(scope="module")
def secured(
    server_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """Chroma's Python server with token authentication, serving TLS on 127.0.0.1."""
    directory = tmp_path_factory.mktemp("chroma-auth")
    key_file, cert_file = _certificate(directory)
    port = free_port()
    log = (directory / "server.log").open("wb")
    env = dict(
        os.environ,
        **AUTH_ENV,
        IS_PERSISTENT="TRUE",
        PERSIST_DIRECTORY=str(directory / "data"),
        ANONYMIZED_TELEMETRY="False",
    )
    proc = subprocess.Popen(
        [str(server_python), "-m", "uvicorn", "chromadb.app:app", "--host", "127.0.0.1",
         "--port", str(port), "--ssl-keyfile", str(key_file), "--ssl-certfile", str(cert_file)],
        stdout=subprocess.DEVNULL, stderr=log, env=env,
    )
    url = f"https://127.0.0.1:{port}"
    import ssl

    context = ssl.create_default_context(cafile=str(cert_file))
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                err = (directory / "server.log").read_text(errors="replace")
                raise RuntimeError(f"the Chroma server exited: {err[-500:]}")
            try:
                if _status(url + "/api/v2/heartbeat", context=context) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the Chroma server did not start")
            time.sleep(0.3)
        yield url, cert_file
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_the_server_refuses_requests_without_the_token(secured):
    import ssl

    url, cert_file = secured
    context = ssl.create_default_context(cafile=str(cert_file))
    assert _status(url + COLLECTIONS, context=context) in (401, 403)
    assert _status(url + COLLECTIONS, "wrong-token", context=context) in (401, 403)
    assert _status(url + COLLECTIONS, TOKEN, context=context) == 200


def test_right_token_ingests_and_queries(secured, corpus, tmp_path, fake_encoders):
    url, cert_file = secured
    client = chroma_client(tmp_path / "unused", url, token=TOKEN, ca_file=cert_file)
    summary = Ingestor(corpus, client, fake_encoders).run()
    assert summary.added and not summary.failed
    collection = Collection(client, "use", dim=0, create=False)
    vector = fake_encoders["use"].encode(["red notice"])[0]
    assert collection.query(vector, 3)


def test_token_and_ca_from_the_environment(secured, monkeypatch, tmp_path):
    """What `waypoint ingest` and the bot use when they pass only CHROMA_URL."""
    url, cert_file = secured
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(CA_FILE_ENV, str(cert_file))
    client = chroma_client(tmp_path / "unused", url)
    assert isinstance(client.list_collections(), list)


def test_missing_token_fails_clearly(secured, tmp_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    url, cert_file = secured
    with pytest.raises(IndexError_, match=f"requires a token: set {TOKEN_ENV}"):
        chroma_client(tmp_path / "unused", url, ca_file=cert_file)


def test_wrong_token_fails_clearly(secured, tmp_path):
    url, cert_file = secured
    with pytest.raises(IndexError_, match="refused the token") as caught:
        chroma_client(tmp_path / "unused", url, token="not-the-token", ca_file=cert_file)
    assert "not-the-token" not in str(caught.value)


def test_tls_is_verified(secured, tmp_path, monkeypatch):
    """Without the CA that signed the server's certificate, the client does not connect."""
    monkeypatch.delenv(CA_FILE_ENV, raising=False)
    url, _ = secured
    with pytest.raises(Exception) as caught:
        chroma_client(tmp_path / "unused", url, token=TOKEN)
    assert not isinstance(caught.value, IndexError_)
    chain, error = [], caught.value
    while error is not None:
        chain.append(repr(error))
        error = error.__cause__ or error.__context__
    assert "CERTIFICATE_VERIFY_FAILED" in " ".join(chain)
