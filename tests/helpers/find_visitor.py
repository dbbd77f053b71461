"""A visitor of the public website: a real HTTP client with its own cookies, filling forms."""

from __future__ import annotations

import re
from html import unescape

from aiohttp.test_utils import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Visitor:
    """One browser-less visitor over an aiohttp test client (its cookie jar is the session)."""

    def __init__(self, client: TestClient[object, object]) -> None:
        self.client = client
        self.csrf = ""
        self.last = ""

    async def get(self, path: str, status: int = 200) -> str:
        async with self.client.get(path) as resp:
            self.last = await resp.text()
            assert resp.status == status, (resp.status, self.last[:2000])
        found = _CSRF.search(self.last)
        if found:
            self.csrf = found.group(1)
        return self.last

    async def post(
        self, path: str, data: dict[str, str] | list[tuple[str, str]], status: int = 200
    ) -> str:
        fields = list(data.items()) if isinstance(data, dict) else list(data)
        if not any(k == "csrf_token" for k, _ in fields):
            fields.append(("csrf_token", self.csrf))
        async with self.client.post(path, data=fields) as resp:
            self.last = await resp.text()
            assert resp.status == status, (resp.status, self.last[:3000])
            self.url = str(resp.url)
        found = _CSRF.search(self.last)
        if found:
            self.csrf = found.group(1)
        return self.last


def text_of(html: str) -> str:
    """The page's text, tags removed and spaces squeezed, for asserting what a reader sees."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()
