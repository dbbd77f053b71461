"""Finding a service: the search form, results with filters and pages, a service's page, and
the visitor's shortlist (kept in their session; printed or emailed to themselves)."""

from __future__ import annotations

import html

import structlog
from aiohttp import web
from pydantic import ValidationError

from api.find.notices import start_resident_notice
from api.find.places import PlaceProblem, resolve_place, ward_names
from api.find.site import (
    FIND_CONFIG,
    CalmError,
    Visit,
    allowed,
    client_address,
    finder,
    first,
    form_of,
    is_spam,
    page,
    redirect,
    render,
)
from api.http.state import SESSIONS
from domain.directory import NeedCategory, Service
from domain.find import FinderQuery, Place
from domain.find_words import (
    AT_RISK_NEEDS,
    NEED_WORDS,
    eligibility_words,
    miles_words,
    need_label,
    opening_words,
)
from domain.referral import Resident
from domain.service_details import WEEKDAYS, Weekday
from store.find_visits import drop_email, queue_email

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
SHORTLIST_LIMIT = 30


def need_choices() -> list[tuple[str, str, str]]:
    """(value, label, hint) of every need, in the order residents see them."""
    return [(c.value, w.label, w.hint) for c, w in NEED_WORDS.items()]


def day_choices() -> list[tuple[str, str]]:
    """(value, label) of the days of the week."""
    return [(d.value, d.label) for d in WEEKDAYS]


@routes.get("/find/")
@page
async def home(request: web.Request, visit: Visit) -> web.StreamResponse:
    """The start of the website: search by need, words and place."""
    return await render(
        request,
        visit,
        "home.html",
        values=visit.data.get("search", {}).get("values", {}),
        errors={},
        needs=need_choices(),
        days=day_choices(),
    )


@routes.get("/find")
async def home_slash(request: web.Request) -> web.StreamResponse:
    """``/find`` without the slash."""
    raise web.HTTPMovedPermanently("/find/")


async def _parse_search(
    request: web.Request, form: dict[str, list[str]]
) -> tuple[dict[str, str], dict[str, str], FinderQuery | None, Place | None]:
    values = {
        name: first(form, name)[:200] for name in ("need", "keywords", "location", "age", "open_on")
    }
    values["free"] = "yes" if first(form, "free") == "yes" else ""
    errors: dict[str, str] = {}
    need = None
    if values["need"]:
        try:
            need = NeedCategory(values["need"])
        except ValueError:
            errors["need"] = "Choose what you need help with from the list"
    age = None
    if values["age"]:
        if not values["age"].isdigit() or not 0 <= int(values["age"]) <= 130:
            errors["age"] = "Enter the age as a whole number of years, like 42"
        else:
            age = int(values["age"])
    open_on = None
    if values["open_on"]:
        try:
            open_on = Weekday(values["open_on"])
        except ValueError:
            errors["open_on"] = "Choose a day of the week"
    place = None
    if values["location"]:
        resolved = await resolve_place(request.app, values["location"])
        if isinstance(resolved, PlaceProblem):
            errors["location"] = resolved.message
        else:
            place = resolved
    if errors:
        return values, errors, None, None
    try:
        query = FinderQuery(
            need=need,
            keywords=values["keywords"],
            age=age,
            free_only=values["free"] == "yes",
            open_on=open_on,
        )
    except ValidationError:
        return values, {"keywords": "Use fewer words"}, None, None
    return values, errors, query, place


@routes.post("/find/search")
@page
async def search(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Check the search; on success keep it in the session (not the URL) and show results."""
    form = await form_of(request, visit)
    values, errors, query, place = await _parse_search(request, form)
    if query is None:
        template = "results.html" if first(form, "from") == "results" else "home.html"
        context = {}
        if template == "results.html":
            context = {"results": None, "place": None, "query": None}
        return await render(
            request,
            visit,
            template,
            400,
            values=values,
            errors=errors,
            needs=need_choices(),
            days=day_choices(),
            **context,
        )
    visit.data["search"] = {
        "values": values,
        "query": query.model_dump(mode="json"),
        "place": place.model_dump(mode="json") if place else None,
    }
    return await redirect(request, visit, "/find/results")


@routes.get("/find/results")
@page
async def results(request: web.Request, visit: Visit) -> web.StreamResponse:
    """A page of results for the session's search, best first."""
    saved = visit.data.get("search")
    if not saved:
        return await redirect(request, visit, "/find/")
    page_number = request.query.get("page", "1")
    number = int(page_number) if page_number.isdigit() and 0 < int(page_number) < 10_000 else 1
    query = FinderQuery.model_validate({**saved["query"], "page": number})
    place = Place.model_validate(saved["place"]) if saved["place"] else None
    _, index = await finder(request.app)
    found = index.search(query, place)
    return await render(
        request,
        visit,
        "results.html",
        values=saved["values"],
        errors={},
        needs=need_choices(),
        days=day_choices(),
        results=found,
        place=place,
        query=query,
        need_label=need_label,
        miles_words=miles_words,
        shortlist=visit.shortlist(),
        exit_page=query.need in AT_RISK_NEEDS,
    )


def service_rows(service: Service, wards: dict[str, str]) -> list[tuple[str, str, str]]:
    """(label, text, kind) rows of a service's page; what the directory lacks is left out."""
    d = service.details
    rows: list[tuple[str, str, str]] = []

    def add(label: str, text: str | None, kind: str = "text") -> None:
        if text:
            rows.append((label, text, kind))

    add("What it does", service.description)
    add("Who it is for", eligibility_words(service.eligibility))
    add("Help with", ", ".join(need_label(c) for c in service.categories))
    if service.areas:
        add("Areas it covers", ", ".join(wards.get(a, a) for a in service.areas))
    cost = d.cost or ("Free" if d.free else "")
    add("Cost", cost)
    add(
        "Opening times",
        "\n".join(f"{day}: {hours}" for day, hours in opening_words(d.opening_times)),
    )
    add("Opening times", d.opening_note)
    add("Address", service.address)
    add("How to get there", d.how_to_get_there)
    add("Phone", service.phone, "phone")
    add("Email", str(service.email) if service.email else None, "email")
    add("Website", str(service.url) if service.url else None, "url")
    add("Languages", ", ".join(d.languages))
    add("Accessibility", "\n".join(d.accessibility))
    add("What happens after you contact them", d.after_contact)
    return rows


@routes.get("/find/services/{service_id}")
@page
async def service_page(request: web.Request, visit: Visit) -> web.StreamResponse:
    """One service: what it does, for whom, cost, times, where, contacts, access."""
    directory, _ = await finder(request.app)
    wanted = request.match_info["service_id"]
    service = next((s for s in directory.services if s.id == wanted), None)
    if service is None:
        raise web.HTTPNotFound()
    organisation = next(
        (o.name for o in directory.organisations if o.id == service.organisation_id), ""
    )
    return await render(
        request,
        visit,
        "service.html",
        service=service,
        organisation=organisation,
        rows=service_rows(service, await ward_names(request.app)),
        active=service.status.value == "active",
        in_shortlist=service.id in visit.shortlist(),
        errors={},
        exit_page=bool(AT_RISK_NEEDS.intersection(service.categories)),
    )


def _back(form: dict[str, list[str]]) -> str:
    # Only our own pages: never an open redirect.
    target = first(form, "back")
    if target.startswith("/find/") and "//" not in target and "\\" not in target:
        return target
    return "/find/shortlist"


@routes.post("/find/shortlist/add")
@page
async def shortlist_add(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Keep a service in the shortlist."""
    form = await form_of(request, visit)
    directory, _ = await finder(request.app)
    service_id = first(form, "service_id")
    kept = visit.shortlist()
    if any(s.id == service_id for s in directory.services) and service_id not in kept:
        if len(kept) >= SHORTLIST_LIMIT:
            raise CalmError(
                400, "Your shortlist is full", "Remove a service before adding another."
            )
        kept.append(service_id)
    return await redirect(request, visit, _back(form))


@routes.post("/find/shortlist/remove")
@page
async def shortlist_remove(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Take a service out of the shortlist."""
    form = await form_of(request, visit)
    service_id = first(form, "service_id")
    if service_id in visit.shortlist():
        visit.shortlist().remove(service_id)
    return await redirect(request, visit, _back(form))


async def _shortlisted(request: web.Request, visit: Visit) -> list[tuple[Service, str]]:
    directory, _ = await finder(request.app)
    names = {o.id: o.name for o in directory.organisations}
    by_id = {s.id: s for s in directory.services}
    return [
        (by_id[i], names.get(by_id[i].organisation_id, "")) for i in visit.shortlist() if i in by_id
    ]


@routes.get("/find/shortlist")
@page
async def shortlist(request: web.Request, visit: Visit) -> web.StreamResponse:
    """The services the visitor kept, to print or email to themselves."""
    return await render(
        request,
        visit,
        "shortlist.html",
        items=await _shortlisted(request, visit),
        values={},
        errors={},
        sent_to=visit.data.pop("shortlist_sent", None),
    )


def _shortlist_email(items: list[tuple[Service, str]], council: str) -> tuple[str, str]:
    blocks = []
    for service, organisation in items:
        lines = [service.name, organisation]
        for value in (service.phone, service.email, service.url, service.address):
            if value:
                lines.append(str(value))
        blocks.append("\n".join(line for line in lines if line))
    text = "Your shortlist of services\n\n" + "\n\n".join(blocks) + f"\n\n{council}\n"
    body = "".join(f"<p>{html.escape(b).replace(chr(10), '<br>')}</p>" for b in blocks)
    return text, f"<h1>Your shortlist of services</h1>{body}<p>{html.escape(council)}</p>"


@routes.post("/find/shortlist/email")
@page
async def shortlist_email(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Email the shortlist to the visitor (rate-limited per address and per recipient)."""
    form = await form_of(request, visit)
    items = await _shortlisted(request, visit)
    if is_spam(form):
        raise CalmError(400, "We could not send that", "Please try again later.")
    email = first(form, "email")[:320]
    if not items:
        raise CalmError(
            400, "Your shortlist is empty", "Add a service to your shortlist before emailing it."
        )
    errors: dict[str, str] = {}
    try:
        Resident(name="-", email=email)
    except ValidationError:
        errors["email"] = "Enter an email address in the correct format, like name@example.com"
    if errors:
        return await render(
            request,
            visit,
            "shortlist.html",
            400,
            items=items,
            values={"email": email},
            errors=errors,
            sent_to=None,
        )
    limit = request.app[FIND_CONFIG].emails_per_hour
    if not (
        await allowed(request, "email-from", client_address(request), limit)
        and await allowed(request, "email-to", email.lower(), limit)
    ):
        raise CalmError(
            429,
            "You have asked for too many emails",
            "Please wait an hour and try again, or print your shortlist instead.",
        )
    text, body = _shortlist_email(items, request.app[FIND_CONFIG].council_name)
    outbox_id = await queue_email(
        request.app[SESSIONS],
        recipient=email,
        subject="Your shortlist of services",
        text=text,
        html=body,
    )
    if not await start_resident_notice(request.app, "shortlist", outbox_id):
        await drop_email(request.app[SESSIONS], outbox_id)
        raise web.HTTPServiceUnavailable()
    visit.data["shortlist_sent"] = email
    return await redirect(request, visit, "/find/shortlist")


@routes.get("/find/brand.css")
async def brand_css(request: web.Request) -> web.StreamResponse:
    """The council's colour, from the settings."""
    colour = request.app[FIND_CONFIG].brand_colour
    return web.Response(
        text=f":root {{ --find-brand: {colour}; }}\n",
        content_type="text/css",
        headers={"Cache-Control": "max-age=300"},
    )


@routes.get("/find/accessibility")
@page
async def accessibility(request: web.Request, visit: Visit) -> web.StreamResponse:
    """The accessibility statement."""
    return await render(request, visit, "accessibility.html")


@routes.get("/find/privacy")
@page
async def privacy(request: web.Request, visit: Visit) -> web.StreamResponse:
    """The privacy notice."""
    return await render(request, visit, "privacy.html")
