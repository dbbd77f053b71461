import asyncio
import re
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from rich.console import Console
from sqlalchemy import select

from api.app import create_app
from domain.access import Role
from domain.sign_in_throttle import ADDRESS_FREE_FAILURES, PAIR_FREE_FAILURES
from store import staff
from store.db import Sessions
from store.demo import load_demo_directory
from store.overview import read_overview
from store.schema import AuditEvent, LoginAttempt, StaffUser
from store.staff import create_user
from tests.conftest import UnreachableTemporal
from workers.status import render

PASSWORD = "correct horse battery"


@pytest.fixture
async def site(sessions: Sessions) -> TestClient:
    await create_user(
        sessions,
        username="ops",
        password=PASSWORD,
        role=Role.OPERATIONS,
        display_name="Olu Operations",
    )
    app = create_app(sessions=sessions, temporal=UnreachableTemporal(), task_queue="q")
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


def cookies_of(resp) -> SimpleCookie:  # type: ignore[no-untyped-def]
    jar: SimpleCookie = SimpleCookie()
    for header in resp.headers.getall("Set-Cookie", []):
        jar.load(header)
    return jar


async def login_form(site: TestClient, next_: str = "/") -> tuple[str, str]:
    resp = await site.get("/login", params={"next": next_}, allow_redirects=False)
    assert resp.status == 200
    token = re.search(r'name="login_token" value="([^"]+)"', await resp.text())
    assert token
    return token.group(1), cookies_of(resp)["pf_login"].value


async def sign_in(site: TestClient, password: str = PASSWORD, next_: str = "/"):  # type: ignore[no-untyped-def]
    token, cookie = await login_form(site, next_)
    return await site.post(
        "/login",
        data={"login_token": token, "username": "ops", "password": password, "next": next_},
        cookies={"pf_login": cookie},
        allow_redirects=False,
    )


async def test_pages_need_a_session(site: TestClient) -> None:
    resp = await site.get("/", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/login?next=/"


async def test_sign_in_sets_a_hardened_cookie_and_opens_the_overview(
    site: TestClient, sessions: Sessions
) -> None:
    await load_demo_directory(sessions)
    resp = await sign_in(site, next_="/")
    assert resp.status == 303
    assert resp.headers["Location"] == "/"
    morsel = cookies_of(resp)["pf_session"]
    assert morsel["httponly"]
    assert morsel["secure"]
    assert morsel["samesite"] == "Strict"

    page = await site.get("/", cookies={"pf_session": morsel.value})
    assert page.status == 200
    html = await page.text()
    assert "Olu Operations" in html
    assert re.search(r'<span class="num">12</span> partner organisations', html)
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


class Browser:
    """A browser at one client address (a loopback address of its own) on the real server."""

    def __init__(self, site: TestClient, address: str) -> None:
        self.site = site
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(address, 0)),
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def sign_in(self, username: str, password: str) -> tuple[int, str, dict[str, str]]:
        async with self.http.get(self.site.make_url("/login")) as form:
            token = re.search(r'name="login_token" value="([^"]+)"', await form.text())
            assert token
            cookie = cookies_of(form)["pf_login"].value
        async with self.http.post(
            self.site.make_url("/login"),
            data={"login_token": token[1], "username": username, "password": password},
            headers={"Cookie": f"pf_login={cookie}"},
            allow_redirects=False,
        ) as resp:
            return resp.status, await resp.text(), dict(resp.headers)

    async def close(self) -> None:
        await self.http.close()


async def test_an_attacker_cannot_lock_a_named_user_out(
    site: TestClient, sessions: Sessions
) -> None:
    attacker, colleague = Browser(site, "127.0.0.2"), Browser(site, "127.0.0.3")
    try:
        statuses = [(await attacker.sign_in("ops", f"guess {i}"))[0] for i in range(8)]
        # A few wrong passwords are just wrong; then this address must wait, doubling.
        assert statuses[: PAIR_FREE_FAILURES - 1] == [401] * (PAIR_FREE_FAILURES - 1)
        assert set(statuses[PAIR_FREE_FAILURES - 1 :]) == {429}
        # The guessing has gone on (recorded here, so the wait is minutes, not a second that
        # a slow machine could let run out before the next request).
        async with sessions.begin() as session:
            session.add_all(
                LoginAttempt(
                    username="ops", remote="127.0.0.2", at=datetime.now(UTC), succeeded=False
                )
                for _ in range(10)
            )
        # Waiting, even the right password is not checked from the guessing address...
        status, text, headers = await attacker.sign_in("ops", PASSWORD)
        assert status == 429
        assert "too many failed sign-ins from here" in text.lower()
        assert int(headers["Retry-After"]) >= 1
        # ...but the named user, from where they work, signs in at once.
        status, _, headers = await colleague.sign_in("ops", PASSWORD)
        assert status == 303
        assert "pf_session=" in headers["Set-Cookie"]
    finally:
        await attacker.close()
        await colleague.close()
    async with sessions() as session:
        throttled = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "sign_in_throttled")
            )
        ).all()
    assert len(throttled) == 8 - (PAIR_FREE_FAILURES - 1) + 1
    assert {(e.subject, e.remote, e.status) for e in throttled} == {("ops", "127.0.0.2", 429)}


async def test_the_wait_doubles_while_a_pair_keeps_failing(sessions: Sessions) -> None:
    await create_user(sessions, username="cora", password=PASSWORD, role=Role.COORDINATOR)
    for _ in range(PAIR_FREE_FAILURES - 1):
        assert (
            await staff.sign_in(sessions, username="cora", password="x", remote="10.1.1.1") is None
        )
    with pytest.raises(staff.Throttled) as first:
        await staff.sign_in(sessions, username="cora", password="x", remote="10.1.1.1")
    assert first.value.seconds == 1
    await asyncio.sleep(first.value.retry_after.total_seconds() + 0.05)
    with pytest.raises(staff.Throttled) as second:
        await staff.sign_in(sessions, username="cora", password="x", remote="10.1.1.1")
    assert second.value.seconds == 2


async def test_another_address_signing_in_does_not_clear_the_guessers_wait(
    sessions: Sessions,
) -> None:
    await create_user(sessions, username="cora", password=PASSWORD, role=Role.COORDINATOR)
    # A guesser with ten failures in a row just now: a wait of minutes, not seconds.
    just_now = datetime.now(UTC) - timedelta(seconds=1)
    async with sessions.begin() as session:
        session.add_all(
            LoginAttempt(username="cora", remote="10.1.1.1", at=just_now, succeeded=False)
            for _ in range(10)
        )
    assert await staff.sign_in(sessions, username="cora", password=PASSWORD, remote="10.2.2.2")
    with pytest.raises(staff.Throttled) as waiting:
        await staff.sign_in(sessions, username="cora", password=PASSWORD, remote="10.1.1.1")
    assert waiting.value.seconds > 60


async def test_an_address_guessing_across_accounts_is_throttled_on_all(
    sessions: Sessions,
) -> None:
    await create_user(sessions, username="cora", password=PASSWORD, role=Role.COORDINATOR)
    for i in range(ADDRESS_FREE_FAILURES - 1):
        result = await staff.sign_in(sessions, username=f"user{i}", password="x", remote="10.3.3.3")
        assert result is None
    with pytest.raises(staff.Throttled):
        await staff.sign_in(sessions, username="someone", password="x", remote="10.3.3.3")
    # More of the same (recorded here: a wait of minutes, whatever the machine's speed).
    async with sessions.begin() as session:
        session.add_all(
            LoginAttempt(username=f"x{i}", remote="10.3.3.3", at=datetime.now(UTC), succeeded=False)
            for i in range(10)
        )
    with pytest.raises(staff.Throttled):
        await staff.sign_in(sessions, username="cora", password=PASSWORD, remote="10.3.3.3")
    assert await staff.sign_in(sessions, username="cora", password=PASSWORD, remote="10.4.4.4")


async def test_failed_sign_ins_show_on_the_overview_status_and_metrics(
    site: TestClient, sessions: Sessions
) -> None:
    for _ in range(2):
        assert (await sign_in(site, password="wrong password!")).status == 401
    resp = await sign_in(site)
    page = await site.get("/", cookies={"pf_session": cookies_of(resp)["pf_session"].value})
    html = await page.text()
    assert re.search(r'<span class="num">2</span> failed sign-ins in the last 24 hours', html)
    metrics = await (await site.get("/metrics")).text()
    assert "partnerflow_sign_ins_failed 2.0" in metrics
    console = Console(record=True, width=120)
    render(await read_overview(sessions), console)
    assert "2 failed dashboard sign-ins in the last 24 hours" in console.export_text()


async def test_login_form_token_must_match_its_cookie(site: TestClient) -> None:
    token, _ = await login_form(site)
    resp = await site.post(
        "/login",
        data={"login_token": token, "username": "ops", "password": PASSWORD},
        cookies={"pf_login": "something-else"},
        allow_redirects=False,
    )
    assert resp.status == 403
    assert "pf_session" not in cookies_of(resp)


async def test_next_cannot_leave_the_site(site: TestClient) -> None:
    resp = await sign_in(site, next_="//evil.example/phish")
    assert resp.headers["Location"] == "/"


async def test_logout_needs_the_csrf_token_and_ends_the_session(site: TestClient) -> None:
    session = cookies_of(await sign_in(site))["pf_session"].value
    page = await (await site.get("/", cookies={"pf_session": session})).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf

    forged = await site.post(
        "/logout",
        data={"csrf_token": "forged"},
        cookies={"pf_session": session},
        allow_redirects=False,
    )
    assert forged.status == 403
    assert (await site.get("/", cookies={"pf_session": session})).status == 200

    done = await site.post(
        "/logout",
        data={"csrf_token": csrf.group(1)},
        cookies={"pf_session": session},
        allow_redirects=False,
    )
    assert done.status == 303
    again = await site.get("/", cookies={"pf_session": session}, allow_redirects=False)
    assert again.status == 303


async def test_passwords_are_stored_as_argon2id(site: TestClient, sessions: Sessions) -> None:
    async with sessions() as session:
        stored = await session.scalar(select(StaffUser.password_hash))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_short_passwords_and_duplicate_names_are_refused(sessions: Sessions) -> None:
    with pytest.raises(ValueError, match="at least 12"):
        await create_user(sessions, username="x", password="short", role=Role.ADMIN)
    await create_user(sessions, username="x", password=PASSWORD, role=Role.ADMIN)
    with pytest.raises(ValueError, match="exists already"):
        await create_user(sessions, username="x", password=PASSWORD, role=Role.ADMIN)


async def test_a_hash_made_with_older_settings_is_renewed_at_sign_in(sessions: Sessions) -> None:
    user_id = await create_user(sessions, username="old", password=PASSWORD, role=Role.ADMIN)
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash(PASSWORD)
    async with sessions.begin() as session:
        user = await session.get(StaffUser, user_id)
        assert user is not None
        user.password_hash = weaker
    assert await staff.sign_in(sessions, username="old", password=PASSWORD, remote="127.0.0.1")
    async with sessions() as session:
        renewed = await session.scalar(select(StaffUser.password_hash))
    assert renewed is not None
    assert renewed != weaker
    assert not PasswordHasher().check_needs_rehash(renewed)
    assert await staff.sign_in(sessions, username="old", password=PASSWORD, remote="127.0.0.1")
