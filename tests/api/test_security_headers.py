"""Security headers on every response: API, pages, public pages, files, redirects, errors."""

from __future__ import annotations

import datetime
import ipaddress
import re
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient, TestServer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api.app import create_app
from api.web.pages import TEMPLATES
from domain.access import Role
from store.db import Sessions
from tests.conftest import UnreachableTemporal

Bearer = Callable[..., Awaitable[dict[str, str]]]


def assert_hardened(resp: aiohttp.ClientResponse, *, tls: bool = False) -> None:
    h = resp.headers
    where = f"{resp.method} {resp.url.path} -> {resp.status}"
    assert h["X-Content-Type-Options"] == "nosniff", where
    assert h["Referrer-Policy"] == "no-referrer", where
    assert h["Permissions-Policy"].startswith("camera=()"), where
    assert h["X-Frame-Options"] == "DENY", where
    assert len(h["X-Request-Id"]) >= 1, where
    csp = h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp, where
    assert "unsafe-inline" not in csp, where
    assert "unsafe-eval" not in csp, where
    if resp.content_type == "text/html":
        assert "default-src 'self'" in csp, where
        assert "object-src 'none'" in csp, where
    else:
        assert csp.startswith("default-src 'none'"), where
    assert ("Strict-Transport-Security" in h) is tls, where


async def test_every_kind_of_response_carries_the_headers(api: TestClient, bearer: Bearer) -> None:
    admin = await bearer(Role.ADMIN)
    await api.get("/api/me", headers=admin)
    calls = [
        api.get("/healthz"),
        api.get("/metrics"),
        api.get("/api/openapi.json"),
        api.get("/oruk/"),
        api.get("/oruk/services"),
        api.get("/api/directory/services"),
        api.get("/api/audit.csv", headers=admin),  # streamed
        api.get("/api/me"),  # 401
        api.get("/api/tokens", headers=await bearer(Role.OPERATIONS)),  # 403
        api.get("/login"),  # a public page
        api.post("/login", data={"username": "x", "password": "y"}),  # refused form
        api.get("/", allow_redirects=False),  # a redirect to the sign-in page
        api.get("/static/app.css"),
        api.get("/static/missing.css"),
        api.get("/nowhere"),
        api.patch("/healthz"),
        api.post("/api/tokens", data=b"x" * (1024 * 1024 + 10), headers=admin),  # 413
    ]
    seen = set()
    for call in calls:
        async with call as resp:
            await resp.read()
            assert_hardened(resp)
            seen.add(resp.status)
    assert {200, 303, 401, 403, 404, 405, 413} <= seen, seen


def test_dashboard_templates_have_no_inline_script_or_style() -> None:
    # The pages' CSP lets only the site's own files run; inline code would be blocked.
    inline = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.I)
    for template in sorted(Path(TEMPLATES).glob("*.html")):
        assert not inline.search(template.read_text()), template.name


def _self_signed(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


async def test_hsts_only_over_tls(sessions: Sessions, tmp_path: Path) -> None:
    app = create_app(sessions=sessions, temporal=UnreachableTemporal(), task_queue="unused")
    server = TestServer(app, scheme="https")
    await server.start_server(ssl=_self_signed(tmp_path))
    try:
        trust = ssl.create_default_context(cafile=tmp_path / "cert.pem")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=trust)) as http:
            for path in ("/healthz", "/login", "/nowhere"):
                async with http.get(server.make_url(path)) as resp:
                    assert resp.url.scheme == "https"
                    assert_hardened(resp, tls=True)
                    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
    finally:
        await server.close()


async def test_hsts_behind_a_tls_proxy(api: TestClient) -> None:
    async with api.get("/healthz", headers={"X-Forwarded-Proto": "https"}) as resp:
        assert_hardened(resp, tls=True)
