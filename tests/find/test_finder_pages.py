"""Finding a service over real HTTP: search by need, words and place, filters, a service's
page, the shortlist, and the session cookie."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from api.app import create_app
from store.db import Sessions
from tests.conftest import UnreachableTemporal
from tests.helpers.find_visitor import Visitor, text_of


async def test_search_by_need_near_a_postcode(visitor: Visitor) -> None:
    await visitor.get("/find/")
    page = text_of(
        await visitor.post("/find/search", {"need": "benefits_debt", "location": "co15 6jq"})
    )
    assert "3 services for money and debt near CO15 6JQ" in page
    # The ward's own service first, then the nearest borough-wide one with its distance.
    assert page.index("Tenancy sustainment") < page.index("Benefits and debt advice")
    assert "0.6 miles away" in page
    # The postcode went in the session, never the address bar.
    assert visitor.url.endswith("/find/results")


async def test_search_by_area_name_and_keyword(visitor: Visitor) -> None:
    await visitor.get("/find/")
    page = text_of(await visitor.post("/find/search", {"keywords": "lonely", "location": "Walton"}))
    assert "near Walton" in page
    assert "Befriending and lunch clubs" in page


async def test_unknown_postcode_gets_a_clear_message(visitor: Visitor) -> None:
    await visitor.get("/find/")
    html = await visitor.post("/find/search", {"location": "SW1A 1AA"}, status=400)
    assert "There is a problem" in html
    assert 'href="#location"' in html
    assert 'id="location-error"' in html
    assert "We could not find that postcode" in text_of(html)
    assert "<title>Error:" in html
    nonsense = await visitor.post("/find/search", {"location": "Atlantis"}, status=400)
    assert "Enter a postcode, like CO15 6JQ" in text_of(nonsense)


async def test_filters_age_free_and_day(visitor: Visitor) -> None:
    await visitor.get("/find/")
    young = text_of(
        await visitor.post("/find/search", {"need": "employment_training", "age": "17"})
    )
    assert "Steps into learning" in young
    assert "Work and skills support" in young
    assert "Adult and community learning" not in young  # 19 and over
    paid = text_of(await visitor.post("/find/search", {"need": "health", "free": "yes"}))
    assert "Drug and alcohol advice" in paid
    assert "Exercise referral" not in paid
    assert "Health trainers" not in paid
    sunday = text_of(await visitor.post("/find/search", {"open_on": "sunday"}))
    assert "1 service" in sunday
    bad = await visitor.post("/find/search", {"age": "old", "from": "results"}, status=400)
    assert "Enter the age as a whole number" in text_of(bad)


async def test_results_are_paged(visitor: Visitor) -> None:
    await visitor.get("/find/")
    first_page = text_of(await visitor.post("/find/search", {}))
    assert "17 services" in first_page
    second = text_of(await visitor.get("/find/results?page=2"))
    assert "Services, page 2 of 2" in second


async def test_service_page_shows_what_is_known_and_leaves_out_the_rest(visitor: Visitor) -> None:
    full = text_of(await visitor.get("/find/services/cab-benefits-debt"))
    for expected in (
        "What it does",
        "Cost Free and confidential.",
        "Monday: 9:30am to 4pm",
        "Clacton Town Hall",
        "How to get there",
        "01255 000101",
        "advice@tendring-cab.example.org",
        "Polish",
        "Hearing loop",
        "What happens after you contact them",
    ):
        assert expected in full
    sparse = text_of(await visitor.get("/find/services/tdc-flytipping"))
    assert "None" not in sparse
    assert "Opening times" not in sparse
    assert "Cost" not in sparse
    assert "Who it is for" not in sparse
    aged = text_of(await visitor.get("/find/services/jcp-work-support"))
    assert "For people aged 16 to 66." in aged
    await visitor.get("/find/services/no-such-service", status=404)


async def test_shortlist_add_remove_and_csrf(visitor: Visitor) -> None:
    await visitor.get("/find/services/cab-benefits-debt")
    await visitor.post("/find/shortlist/add", {"service_id": "cab-benefits-debt", "back": "//evil"})
    assert visitor.url.endswith("/find/shortlist")
    assert "Your shortlist (1)" in visitor.last
    assert "Benefits and debt advice" in visitor.last
    await visitor.post("/find/shortlist/remove", {"service_id": "cab-benefits-debt"})
    assert "Your shortlist is empty" in visitor.last
    forged = await visitor.post(
        "/find/shortlist/add",
        {"service_id": "cab-benefits-debt", "csrf_token": "forged"},
        status=403,
    )
    assert "This page has expired" in forged


async def test_session_cookie_is_httponly_lax_and_secure(sessions: Sessions) -> None:
    app = create_app(sessions=sessions, temporal=UnreachableTemporal(), task_queue="unused")
    async with TestClient(TestServer(app)) as client, client.get("/find/") as resp:
        cookie = resp.headers["Set-Cookie"]
    assert "pf_find=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie
    assert "Path=/find" in cookie


async def test_brand_colour_and_no_crown(visitor: Visitor) -> None:
    html = await visitor.get("/find/")
    assert "govuk-crest" not in html
    assert "crown" not in html.lower()
    async with visitor.client.get("/find/brand.css") as resp:
        assert "--find-brand: #005a5b" in await resp.text()
    async with visitor.client.get("/find/assets/govuk/govuk-frontend.min.css") as resp:
        css = await resp.text()
    assert "GDS Transport" not in css
    assert "@font-face" not in css


async def test_emailing_an_empty_shortlist_gets_a_plain_page(visitor: Visitor) -> None:
    await visitor.get("/find/")  # a page with a form: the session's token
    html = await visitor.post("/find/shortlist/email", {"email": "me@home.example"}, status=400)
    assert "Your shortlist is empty" in text_of(html)


async def test_pages_carry_the_security_headers_and_assets_are_listed(visitor: Visitor) -> None:
    async with visitor.client.get("/find/") as resp:
        assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert resp.headers["Cache-Control"] == "no-store"
    async with visitor.client.get("/find/assets/find.js") as resp:
        assert resp.status == 200
    for path in ("/find/assets/../site.py", "/find/assets/nothing.css", "/find/assets/%2e%2e/x"):
        async with visitor.client.get(path) as resp:
            assert resp.status == 404, path
