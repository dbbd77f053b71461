"""Referring yourself: needs, about you, consent, check your answers, confirmation.

One question page after another (GOV.UK Design System patterns), the answers kept in the
visitor's session so nothing is asked twice and every change link returns to the check page.
The submission is an ordinary referral (source ``web_signposting``) started by the same
function as ``POST /api/referrals``: same validation, numbering, workflow, routing and SLA.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError

from api.find.finder import need_choices
from api.find.forms import (
    ASKED_BEFORE_CHOICES,
    CONTACT_CHOICES,
    NO_SHARING,
    check_about_you,
    check_consent,
    check_needs,
)
from api.find.notices import start_resident_notice
from api.find.places import PlaceProblem, resolve_place
from api.find.site import (
    FIND_CONFIG,
    CalmError,
    Visit,
    allowed,
    client_address,
    finder,
    form_of,
    is_spam,
    page,
    redirect,
    render,
)
from api.referrals.submission import take_referral
from domain.consent_offer import ConsentOffer, consent_offer
from domain.directory import NeedCategory, Urgency
from domain.find_words import URGENCY_WORDS, need_label
from domain.referral import (
    Consent,
    ConsentMethod,
    Need,
    ReferralSource,
    ReferralSubmission,
    Referrer,
    Resident,
)

log = structlog.get_logger(__name__)
routes = web.RouteTableDef()
WEB_SUBMITTER = "web-signposting"
STEPS = ("needs", "about-you", "consent", "check")


def _age(answers: dict[str, Any], today: date) -> int | None:
    dob = answers.get("date_of_birth")
    if not dob:
        return None
    return Resident(name="-", date_of_birth=date.fromisoformat(dob)).age_on(today)


def _next(request: web.Request, answers: dict[str, Any], default: str) -> str:
    # After a change from the check page, go back there once the journey is complete.
    if request.query.get("change") and _missing(answers) is None:
        return "/find/refer/check"
    return default


def _missing(answers: dict[str, Any]) -> str | None:
    """The first page still to answer, if any."""
    if not answers.get("needs"):
        return "/find/refer/needs"
    if not answers.get("ward"):
        return "/find/refer/about-you"
    if not answers.get("consent"):
        return "/find/refer/consent"
    return None


def _action(request: web.Request) -> str:
    return request.path + ("?change=1" if request.query.get("change") else "")


@routes.get("/find/refer")
@page
async def start(request: web.Request, visit: Visit) -> web.StreamResponse:
    """What asking for help involves, and the start button."""
    return await render(request, visit, "refer_start.html")


@routes.get("/find/refer/needs")
@page
async def needs_page(request: web.Request, visit: Visit) -> web.StreamResponse:
    """What help is needed, and how soon."""
    return await _needs(request, visit, visit.answers(), {})


async def _needs(
    request: web.Request, visit: Visit, values: dict[str, Any], errors: dict[str, str]
) -> web.Response:
    return await render(
        request,
        visit,
        "refer_needs.html",
        400 if errors else 200,
        values=values,
        errors=errors,
        needs=need_choices(),
        urgencies=[(u.value, URGENCY_WORDS[u]) for u in Urgency],
        action=_action(request),
        back="/find/refer/check" if request.query.get("change") else "/find/refer",
    )


@routes.post("/find/refer/needs")
@page
async def needs_answer(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Keep the needs, or show what to put right."""
    checked = check_needs(await form_of(request, visit))
    if checked.errors:
        return await _needs(request, visit, checked.values, checked.errors)
    visit.answers().update(checked.values)
    return await redirect(request, visit, _next(request, visit.answers(), "/find/refer/about-you"))


async def _about(
    request: web.Request, visit: Visit, values: dict[str, Any], errors: dict[str, str]
) -> web.Response:
    return await render(
        request,
        visit,
        "refer_about.html",
        400 if errors else 200,
        values=values,
        errors=errors,
        contact_choices=CONTACT_CHOICES,
        asked_before_choices=ASKED_BEFORE_CHOICES,
        action=_action(request),
        back="/find/refer/check" if request.query.get("change") else "/find/refer/needs",
    )


@routes.get("/find/refer/about-you")
@page
async def about_page(request: web.Request, visit: Visit) -> web.StreamResponse:
    """About the resident: name, date of birth, address, how and when to contact them."""
    if not visit.answers().get("needs"):
        return await redirect(request, visit, "/find/refer/needs")
    return await _about(request, visit, visit.answers(), {})


@routes.post("/find/refer/about-you")
@page
async def about_answer(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Keep the details (the postcode must be one the directory covers)."""
    checked = check_about_you(await form_of(request, visit), today=datetime.now(UTC).date())
    ward = None
    if "postcode" not in checked.errors:
        place = await resolve_place(request.app, str(checked.values["postcode"]))
        if isinstance(place, PlaceProblem) or place.ward is None:
            checked.errors["postcode"] = (
                "We could not find that postcode in the area we cover. Check it, or use the "
                "service's phone number on its page to ask for help"
            )
        else:
            ward = place.ward
    if checked.errors:
        return await _about(request, visit, checked.values, checked.errors)
    answers = visit.answers()
    answers.update(checked.values)
    answers["ward"] = ward
    return await redirect(request, visit, _next(request, answers, "/find/refer/consent"))


async def _offer(request: web.Request, answers: dict[str, Any]) -> ConsentOffer:
    directory, _ = await finder(request.app)
    return consent_offer(
        directory,
        [NeedCategory(n) for n in answers["needs"]],
        ward=answers["ward"],
        age=_age(answers, datetime.now(UTC).date()),
    )


async def _consent(
    request: web.Request, visit: Visit, values: dict[str, Any], errors: dict[str, str]
) -> web.Response:
    offer = await _offer(request, visit.answers())
    return await render(
        request,
        visit,
        "refer_consent.html",
        400 if errors else 200,
        values=values,
        errors=errors,
        offer=offer,
        need_label=need_label,
        shared=_shared_items(visit.answers()),
        no_sharing=NO_SHARING,
        action=_action(request),
        back="/find/refer/check" if request.query.get("change") else "/find/refer/about-you",
    )


def _shared_items(answers: dict[str, Any]) -> list[str]:
    items = ["your name", "your postcode and address", "what you told us about your needs"]
    if answers.get("date_of_birth"):
        items.insert(1, "your date of birth")
    if answers.get("phone"):
        items.append("your phone number")
    if answers.get("email"):
        items.append("your email address")
    items.append("how and when you would like to be contacted")
    return items


@routes.get("/find/refer/consent")
@page
async def consent_page(request: web.Request, visit: Visit) -> web.StreamResponse:
    """For each agency routing would use: who they are, what they would receive; agree to
    some, all or none."""
    missing = _missing(visit.answers())
    if missing in ("/find/refer/needs", "/find/refer/about-you"):
        return await redirect(request, visit, missing)
    return await _consent(request, visit, visit.answers(), {})


@routes.post("/find/refer/consent")
@page
async def consent_answer(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Keep the choice of agencies (or none)."""
    answers = visit.answers()
    if _missing(answers) in ("/find/refer/needs", "/find/refer/about-you"):
        return await redirect(request, visit, "/find/refer/needs")
    offer = await _offer(request, answers)
    checked = check_consent(await form_of(request, visit), offer.agency_ids())
    if checked.errors:
        return await _consent(request, visit, checked.values, checked.errors)
    answers["consent"] = checked.values["consent"]
    return await redirect(request, visit, "/find/refer/check")


def _consented(answers: dict[str, Any], offer: ConsentOffer) -> list[str]:
    # Only agencies still offered for the needs as they now are.
    return [a for a in answers.get("consent", []) if a in offer.agency_ids()]


@routes.get("/find/refer/check")
@page
async def check_page(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Every answer, each with a link back to change it."""
    answers = visit.answers()
    missing = _missing(answers)
    if missing is not None:
        return await redirect(request, visit, missing)
    offer = await _offer(request, answers)
    names = {a.agency_id: a.name for a in offer.agencies}
    return await render(
        request,
        visit,
        "refer_check.html",
        answers=answers,
        needs=[need_label(NeedCategory(n)) for n in answers["needs"]],
        urgency=URGENCY_WORDS[Urgency(answers["urgency"])],
        contact_by=CONTACT_CHOICES[answers["contact_by"]],
        asked_before=ASKED_BEFORE_CHOICES.get(answers.get("asked_before") or "", ""),
        dob=_dob_words(answers.get("date_of_birth")),
        sharing=[names[a] for a in _consented(answers, offer)],
        errors={},
    )


def _dob_words(iso: str | None) -> str:
    if not iso:
        return ""
    born = date.fromisoformat(iso)
    return f"{born.day} {born.strftime('%B')} {born.year}"


def submission_of(
    answers: dict[str, Any], consented: list[str], now: datetime
) -> ReferralSubmission:
    """The referral a resident's answers make: the same model the API accepts."""
    contact = f"Contact {CONTACT_CHOICES[answers['contact_by']].lower()}"
    if answers.get("contact_when"):
        contact += f", best time: {answers['contact_when']}"
    earlier = (
        "They say an earlier request of theirs is still open."
        if answers.get("asked_before") == "yes"
        else ""
    )
    notes = "\n".join(p for p in (answers.get("details", ""), contact + ".", earlier) if p)
    return ReferralSubmission(
        source=ReferralSource.WEB_SIGNPOSTING,
        ward=answers["ward"],
        resident=Resident(
            name=answers["name"],
            date_of_birth=date.fromisoformat(answers["date_of_birth"])
            if answers.get("date_of_birth")
            else None,
            address=answers.get("address") or None,
            postcode=answers["postcode"],
            phone=answers.get("phone") or None,
            email=answers.get("email") or None,
        ),
        needs=[
            Need(category=NeedCategory(n), urgency=Urgency(answers["urgency"]), notes=notes)
            for n in answers["needs"]
        ],
        consent=Consent(
            agency_ids=consented,
            given_at=now if consented else None,
            method=ConsentMethod.ONLINE if consented else None,
        ),
        referrer=Referrer(name="Self-referral on the website"),
    )


@routes.post("/find/refer/check")
@page
async def submit(request: web.Request, visit: Visit) -> web.StreamResponse:
    """Send the request: a referral like any other, then the confirmation email."""
    form = await form_of(request, visit)
    if is_spam(form):
        log.info("self-referral refused by the honeypot")
        raise CalmError(
            400,
            "Sorry, we could not accept this request",
            "Nothing was sent. If you need help, use the phone number of a service on this "
            "website.",
        )
    answers = visit.answers()
    missing = _missing(answers)
    if missing is not None:
        return await redirect(request, visit, missing)
    limit = request.app[FIND_CONFIG].submissions_per_hour
    if not await allowed(request, "submit", client_address(request), limit):
        raise CalmError(
            429,
            "Too many requests from your connection",
            "Nothing was sent. Please wait an hour and try again, or phone a service directly.",
        )
    offer = await _offer(request, answers)
    now = datetime.now(UTC)
    try:
        submission = submission_of(answers, _consented(answers, offer), now)
    except (ValidationError, KeyError, ValueError):
        raise CalmError(
            400, "Some answers need checking", "Please go through the questions again."
        ) from None
    created = await take_referral(request.app, submission, submitted_by=WEB_SUBMITTER)
    emailed = bool(answers.get("email")) and await start_resident_notice(
        request.app, "confirmation", created.number
    )
    visit.data["answers"] = {}
    visit.data["done"] = {
        "number": created.number,
        "shared": bool(submission.consent.agency_ids),
        "emailed": emailed,
        "urgent": answers["urgency"] != Urgency.ROUTINE.value,
        "asked_before": answers.get("asked_before") == "yes",
    }
    log.info("self-referral submitted", referral=created.number)
    return await redirect(request, visit, "/find/refer/done")


@routes.get("/find/refer/done")
@page
async def done(request: web.Request, visit: Visit) -> web.StreamResponse:
    """The reference number and what happens next."""
    sent = visit.data.get("done")
    if not sent:
        return await redirect(request, visit, "/find/refer")
    return await render(request, visit, "refer_done.html", sent=sent)
