"""A resident on `partnerflow up`, from outside: finds help near a postcode of the demo
borough, refers themselves, gets the email, follows its link and sees the agency accept."""

from __future__ import annotations

import asyncio
import re
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import aiohttp
import pytest

from tests.helpers.stack import Stack

pytestmark = pytest.mark.e2e

NAME, EMAIL = "Edna Pettigrew", "edna@home.example"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def _post(http: aiohttp.ClientSession, path: str, form: dict[str, str]) -> str:
    async with http.get("/find/") as resp:
        found = _CSRF.search(await resp.text())
    assert found is not None
    async with http.post(path, data={**form, "csrf_token": found.group(1)}) as resp:
        page = await resp.text()
        assert resp.status == 200, page[:2000]
        return page


def _confirmation(mail: Path, number: str) -> str | None:
    for path in mail.glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=default)
        if message["To"] == EMAIL and number in str(message["Subject"]):
            body = message.get_body(("plain",))
            assert body is not None
            return str(body.get_content())  # type: ignore[attr-defined]
    return None


async def test_resident_finds_refers_and_tracks_on_up(tmp_path: Path) -> None:
    stack = Stack.on_free_ports(tmp_path / "var")
    process = stack.start()
    try:
        stack.wait_ready(process)
        admin = stack.admin_token()
        assert admin
        assert f"{stack.api}/find/" in stack.out.read_text()
        # The session cookie is Secure; a browser sends it to 127.0.0.1, so this client does.
        jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[stack.api])
        async with aiohttp.ClientSession(stack.api, cookie_jar=jar) as http:
            found = _text(
                await _post(http, "/find/search", {"need": "benefits_debt", "location": "CO15 6JQ"})
            )
            assert "3 services for money and debt near CO15 6JQ" in found
            await _post(http, "/find/refer/needs", {"needs": "benefits_debt", "urgency": "urgent"})
            consent = _text(
                await _post(
                    http,
                    "/find/refer/about-you",
                    {"name": NAME, "postcode": "CO15 6JQ", "email": EMAIL, "contact_by": "email"},
                )
            )
            assert "Tendring District Council Housing Services" in consent
            await _post(http, "/find/refer/consent", {"consent": "tdc-housing"})
            done = _text(await _post(http, "/find/refer/check", {}))
            number = re.search(r"TEN-\d{4}-\d{6}", done)
            assert number is not None, done
            text = None
            for _ in range(150):
                text = _confirmation(tmp_path / "var" / "mail", number.group(0))
                if text is not None:
                    break
                await asyncio.sleep(0.2)
            assert text is not None, "no confirmation email"
            link = re.search(r"http://127\.0\.0\.1:\d+(/find/track/\S+)", text)
            assert link is not None, text

            agency_token = {"subject": "tdc-intake", "role": "agency", "agency_id": "tdc-housing"}
            async with http.post(
                "/api/tokens", json=agency_token, headers={"Authorization": f"Bearer {admin}"}
            ) as resp:
                agency = {"Authorization": f"Bearer {(await resp.json())['token']}"}
            leg = f"{number.group(0)}-L1"
            async with asyncio.timeout(30):
                while True:
                    async with http.post(f"/api/legs/{leg}/accept", headers=agency) as resp:
                        if resp.status == 200:
                            break
                    await asyncio.sleep(0.2)
            async with asyncio.timeout(30):
                while True:
                    async with http.get(link.group(1)) as resp:
                        page = _text(await resp.text())
                    if "Accepted: the service will contact you" in page:
                        break
                    await asyncio.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=60)
    # Nothing personal in the logs.
    assert NAME not in stack.out.read_text()
    assert EMAIL not in stack.out.read_text()
