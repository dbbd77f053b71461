"""Staff sign in with a real browser; the form is usable by keyboard and labelled."""

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from playwright.async_api import Page, expect

from api.app import create_app
from domain.access import Role
from store.db import Sessions
from store.staff import create_user
from tests.browser.conftest import screenshot
from tests.conftest import UnreachableTemporal

pytestmark = pytest.mark.browser

PASSWORD = "a long enough password"


@pytest_asyncio.fixture
async def site(sessions: Sessions) -> AsyncIterator[str]:
    await create_user(
        sessions, username="olu", password=PASSWORD, role=Role.OPERATIONS, display_name="Olu"
    )
    server = TestServer(
        create_app(sessions=sessions, temporal=UnreachableTemporal(), task_queue="q")
    )
    await server.start_server()
    yield str(server.make_url(""))
    await server.close()


async def test_operations_staff_sign_in_by_keyboard(site: str, page: Page) -> None:
    await page.goto(f"{site}/")
    await expect(page).to_have_url(f"{site}/login?next=/")
    await page.get_by_label("User name").fill("olu")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.get_by_text("Olu · operations")).to_be_visible()
    await screenshot(page, "overview-operations")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_wrong_password_is_refused_in_words(site: str, page: Page) -> None:
    await page.goto(f"{site}/login")
    await page.get_by_label("User name").fill("olu")
    await page.get_by_label("Password").fill("not the password at all")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await expect(page.get_by_role("heading", name="Overview")).to_have_count(0)
