import re
from http.cookies import SimpleCookie

import pytest
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from sqlalchemy import select

from api.app import create_app
from domain.access import Role
from store import staff
from store.db import Sessions
from store.demo import load_demo_directory
from store.schema import StaffUser
from store.staff import MAX_FAILURES_PER_USER, create_user
from tests.conftest import UnreachableTemporal

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


async def test_wrong_password_then_throttled(site: TestClient) -> None:
    for _ in range(MAX_FAILURES_PER_USER):
        resp = await sign_in(site, password="wrong password!")
        assert resp.status == 401
        assert "do not match" in await resp.text()
    # Even the right password is refused while throttled.
    resp = await sign_in(site)
    assert resp.status == 429
    assert "too many failed sign-ins" in (await resp.text()).lower()


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
