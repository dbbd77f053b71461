"""Referring a resident from the dashboard: the Reach Out worker's journey at the door.

The same GOV.UK patterns as the public site's self-referral (one thing per page, a back link,
an error summary linked to the fields, check your answers, a confirmation with the number),
drawn with its macros. The answers are kept in the store under a hash of the staff session
(as the public site keeps a visitor's), so nothing personal goes in a URL. The submission goes
through :func:`api.referrals.submission.take_referral_once` under an idempotency key made when
the journey starts: the same code path as ``POST /api/referrals``, and a double-click or a
resend after a lost answer makes one referral.

Longer than 400 lines on purpose: the journey's pages read top to bottom in the order the
worker meets them, each GET beside its POST; the shared step machinery is in the few helpers at
the top.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError

from api.find.finder import need_choices
from api.find.forms import CONTACT_CHOICES, check_about_you
from api.find.places import PlaceProblem, resolve_place
from api.find.site import finder
from api.http.errors import DomainRefusal
from api.http.state import SESSIONS
from api.referrals.same_resident import SameResident, add_need_to_referral
from api.referrals.submission import as_submitted_by, take_referral_once
from api.web.pages import SESSION_COOKIE, PageCall, PageTable, render, require_form
from domain.access import Action
from domain.consent_offer import ConsentOffer, consent_offer
from domain.directory import NeedCategory, Urgency
from domain.find_words import need_label
from domain.referral import (
    Consent,
    ConsentMethod,
    Need,
    ReferralSource,
    ReferralSubmission,
    Referrer,
    Resident,
)
from store.find_visits import end_visit, load_visit, save_visit

log = structlog.get_logger(__name__)
pages = PageTable()

JOURNEY_LIFETIME = timedelta(hours=8)
URGENCY_CHOICES = [
    (Urgency.ROUTINE.value, "Routine: within the service's usual time"),
    (Urgency.URGENT.value, "Urgent: in the next few days"),
    (Urgency.EMERGENCY.value, "Emergency: today"),
]
METHOD_CHOICES = [
    (ConsentMethod.VERBAL.value, "Verbally, at the door"),
    (ConsentMethod.WRITTEN.value, "On a signed form"),
    (ConsentMethod.PHONE.value, "By phone"),
]
AGREED, NOT_AGREED = "yes", "no"
NOTES_LIMIT = 1000
TOLD_LIMIT = 1000
Form = dict[str, list[str]]
Errors = dict[str, str]

# The public site's messages speak to the resident; here the worker answers for them.
_RESIDENT_WORDS = {
    "Enter your full name": "Enter the resident's full name",
    "Enter your postcode": "Enter the resident's postcode",
    "Enter an email address or a phone number so services can contact you": (
        "Enter an email address or a phone number so services can contact the resident"
    ),
    "Select how you would like services to contact you": (
        "Select how the resident would like services to contact them"
    ),
    "Enter your email address, or choose to be contacted by phone": (
        "Enter the resident's email address, or choose contact by phone"
    ),
    "Enter your phone number, or choose to be contacted by email": (
        "Enter the resident's phone number, or choose contact by email"
    ),
    "Best time to contact you must be 200 characters or fewer": (
        "Best time to contact them must be 200 characters or fewer"
    ),
}


def _journey_key(request: web.Request) -> str:
    # The staff session's cookie, hashed with a purpose: the table alone leads nowhere.
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return hashlib.sha256(f"referrer-journey:{cookie}".encode()).hexdigest()


async def _answers(call: PageCall) -> dict[str, Any]:
    data = await load_visit(
        call.request.app[SESSIONS], _journey_key(call.request), now=datetime.now(UTC)
    )
    if data is None:
        # The key the submission will carry, made once per referral.
        data = {"key": str(uuid.uuid4())}
    return data


async def _keep(call: PageCall, answers: dict[str, Any]) -> None:
    await save_visit(
        call.request.app[SESSIONS],
        _journey_key(call.request),
        answers,
        expires_at=datetime.now(UTC) + JOURNEY_LIFETIME,
    )


async def _form(call: PageCall) -> Form:
    """Every value of each posted field, after the CSRF check."""
    await require_form(call)
    posted = await call.request.post()
    form: Form = {}
    for name, value in posted.items():
        if isinstance(value, str):
            form.setdefault(name, []).append(value)
    return form


def _first(form: Form, name: str) -> str:
    return (form.get(name) or [""])[0].strip()


def _missing(answers: dict[str, Any]) -> str | None:
    """The first page still to answer, if any."""
    if not answers.get("ward"):
        return "/refer/resident"
    if not answers.get("needs"):
        return "/refer/needs"
    if not answers.get("need_details"):
        return "/refer/needs/details"
    if "consent" not in answers:
        return "/refer/consent"
    if not answers.get("told"):
        return "/refer/told"
    return None


def _next(call: PageCall, answers: dict[str, Any], default: str) -> str:
    # After a change from the check page, back there once nothing is missing.
    if call.request.query.get("change") and _missing(answers) is None:
        return "/refer/check"
    return default


def _action(call: PageCall) -> str:
    return call.request.path + ("?change=1" if call.request.query.get("change") else "")


def _back(call: PageCall, default: str) -> str:
    return "/refer/check" if call.request.query.get("change") else default


def _age(answers: dict[str, Any], today: date) -> int | None:
    dob = answers.get("date_of_birth")
    if not dob:
        return None
    return Resident(name="-", date_of_birth=date.fromisoformat(dob)).age_on(today)


async def _offer(call: PageCall, answers: dict[str, Any]) -> ConsentOffer:
    directory, _ = await finder(call.request.app)
    return consent_offer(
        directory,
        [NeedCategory(n) for n in answers["needs"]],
        ward=answers["ward"],
        age=_age(answers, datetime.now(UTC).date()),
    )


def _redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


@pages.page("GET", "/refer", summary="Refer a resident: start", action=Action.SUBMIT_REFERRAL)
async def start(call: PageCall) -> web.StreamResponse:
    """What a referral asks for, and the start button."""
    answers = await _answers(call)
    return render(call, "refer/start.html", started=bool(answers.get("name")), errors={})


@pages.page(
    "POST", "/refer/new", summary="Refer a resident: start afresh", action=Action.SUBMIT_REFERRAL
)
async def start_afresh(call: PageCall) -> web.StreamResponse:
    """Forget any unfinished answers and begin a new referral."""
    await require_form(call)
    await end_visit(call.request.app[SESSIONS], _journey_key(call.request))
    raise _redirect("/refer/resident")


async def _resident(
    call: PageCall, values: dict[str, Any], errors: Errors, status: int = 200
) -> web.Response:
    return render(
        call,
        "refer/resident.html",
        400 if errors else status,
        values=values,
        errors=errors,
        contact_choices=CONTACT_CHOICES,
        action=_action(call),
        back=_back(call, "/refer"),
    )


@pages.page(
    "GET", "/refer/resident", summary="Refer a resident: who", action=Action.SUBMIT_REFERRAL
)
async def resident_page(call: PageCall) -> web.StreamResponse:
    """The resident: name, date of birth, address and postcode, how and when to contact them."""
    return await _resident(call, await _answers(call), {})


@pages.page(
    "POST", "/refer/resident", summary="Refer a resident: keep who", action=Action.SUBMIT_REFERRAL
)
async def resident_answer(call: PageCall) -> web.StreamResponse:
    """Keep the resident's details; the postcode must resolve to a ward of the borough."""
    checked = check_about_you(await _form(call), today=datetime.now(UTC).date())
    errors = {field: _RESIDENT_WORDS.get(m, m) for field, m in checked.errors.items()}
    ward = None
    if "postcode" not in errors:
        place = await resolve_place(call.request.app, str(checked.values["postcode"]))
        if isinstance(place, PlaceProblem) or place.ward is None:
            errors["postcode"] = (
                "Enter a postcode in the area the partnership covers, like CO15 6JQ"
            )
        else:
            ward = place.ward
    if errors:
        return await _resident(call, checked.values, errors)
    answers = await _answers(call)
    answers.update(checked.values)
    answers["ward"] = ward
    await _keep(call, answers)
    raise _redirect(_next(call, answers, "/refer/needs"))


async def _needs(call: PageCall, values: dict[str, Any], errors: Errors) -> web.Response:
    return render(
        call,
        "refer/needs.html",
        400 if errors else 200,
        values=values,
        errors=errors,
        needs=need_choices(),
        action=_action(call),
        back=_back(call, "/refer/resident"),
    )


@pages.page("GET", "/refer/needs", summary="Refer a resident: needs", action=Action.SUBMIT_REFERRAL)
async def needs_page(call: PageCall) -> web.StreamResponse:
    """Which needs the resident has: one or more."""
    answers = await _answers(call)
    if not answers.get("ward"):
        raise _redirect("/refer/resident")
    return await _needs(call, answers, {})


@pages.page(
    "POST", "/refer/needs", summary="Refer a resident: keep needs", action=Action.SUBMIT_REFERRAL
)
async def needs_answer(call: PageCall) -> web.StreamResponse:
    """Keep the needs chosen (the details of each are asked next)."""
    form = await _form(call)
    chosen = [n for n in form.get("needs", []) if n in set(NeedCategory)]
    if not chosen:
        return await _needs(
            call, {"needs": []}, {"needs": "Select what the resident needs help with"}
        )
    answers = await _answers(call)
    if not answers.get("ward"):
        raise _redirect("/refer/resident")
    kept = {n: d for n, d in answers.get("need_details", {}).items() if n in chosen}
    answers["needs"] = chosen
    # Details already given for a need still chosen are kept; a new need is asked about.
    answers["need_details"] = kept if len(kept) == len(chosen) else {}
    answers["draft_details"] = kept
    await _keep(call, answers)
    raise _redirect(_next(call, answers, "/refer/needs/details"))


def _detail_values(answers: dict[str, Any]) -> dict[str, str]:
    details = answers.get("need_details") or answers.get("draft_details") or {}
    values: dict[str, str] = {}
    for need, detail in details.items():
        values[f"urgency-{need}"] = detail["urgency"]
        values[f"notes-{need}"] = detail["notes"]
    return values


async def _details(
    call: PageCall, answers: dict[str, Any], values: dict[str, str], errors: Errors
) -> web.Response:
    return render(
        call,
        "refer/need_details.html",
        400 if errors else 200,
        values=values,
        errors=errors,
        needs=[(n, need_label(NeedCategory(n))) for n in answers["needs"]],
        urgencies=URGENCY_CHOICES,
        action=_action(call),
        back=_back(call, "/refer/needs"),
    )


@pages.page(
    "GET",
    "/refer/needs/details",
    summary="Refer a resident: each need's urgency and notes",
    action=Action.SUBMIT_REFERRAL,
)
async def details_page(call: PageCall) -> web.StreamResponse:
    """How urgent each need is, and notes for the agency that takes it."""
    answers = await _answers(call)
    if not answers.get("needs"):
        raise _redirect(_missing(answers) or "/refer/needs")
    return await _details(call, answers, _detail_values(answers), {})


@pages.page(
    "POST",
    "/refer/needs/details",
    summary="Refer a resident: keep each need's urgency and notes",
    action=Action.SUBMIT_REFERRAL,
)
async def details_answer(call: PageCall) -> web.StreamResponse:
    """Keep each need's urgency and notes."""
    form = await _form(call)
    answers = await _answers(call)
    if not answers.get("needs"):
        raise _redirect(_missing(answers) or "/refer/needs")
    values: dict[str, str] = {}
    errors: Errors = {}
    details: dict[str, dict[str, str]] = {}
    for need in answers["needs"]:
        label = need_label(NeedCategory(need)).lower()
        urgency, notes = _first(form, f"urgency-{need}"), _first(form, f"notes-{need}")
        values[f"urgency-{need}"], values[f"notes-{need}"] = urgency, notes
        if urgency not in set(Urgency):
            errors[f"urgency-{need}"] = f"Select how soon the resident needs help with {label}"
        if len(notes) > NOTES_LIMIT:
            errors[f"notes-{need}"] = f"Notes on {label} must be 1,000 characters or fewer"
        details[need] = {"urgency": urgency, "notes": notes}
    if errors:
        return await _details(call, answers, values, errors)
    answers["need_details"] = details
    answers.pop("draft_details", None)
    await _keep(call, answers)
    raise _redirect(_next(call, answers, "/refer/consent"))


async def _consent(
    call: PageCall, answers: dict[str, Any], values: dict[str, str], errors: Errors
) -> web.Response:
    offer = await _offer(call, answers)
    return render(
        call,
        "refer/consent.html",
        400 if errors else 200,
        values=values,
        errors=errors,
        offer=offer,
        need_label=need_label,
        methods=METHOD_CHOICES,
        action=_action(call),
        back=_back(call, "/refer/needs/details"),
    )


def _consent_values(call: PageCall, answers: dict[str, Any]) -> dict[str, str]:
    consent = answers.get("consent")
    if consent is None:
        return {"recorded_by": call.me().display_name}
    values = {f"agree-{a}": AGREED for a in consent["agreed"]}
    values.update({f"agree-{a}": NOT_AGREED for a in consent["declined"]})
    values["method"] = consent["method"] or ""
    values["recorded_by"] = consent["recorded_by"]
    return values


@pages.page(
    "GET", "/refer/consent", summary="Refer a resident: consent", action=Action.SUBMIT_REFERRAL
)
async def consent_page(call: PageCall) -> web.StreamResponse:
    """For each agency routing would use: did the resident agree, how, and who recorded it."""
    answers = await _answers(call)
    if not answers.get("need_details"):
        raise _redirect(_missing(answers) or "/refer/needs")
    return await _consent(call, answers, _consent_values(call, answers), {})


@pages.page(
    "POST",
    "/refer/consent",
    summary="Refer a resident: keep consent",
    action=Action.SUBMIT_REFERRAL,
)
async def consent_answer(call: PageCall) -> web.StreamResponse:
    """Keep the consent as given at the door."""
    form = await _form(call)
    answers = await _answers(call)
    if not answers.get("need_details"):
        raise _redirect(_missing(answers) or "/refer/needs")
    offer = await _offer(call, answers)
    values: dict[str, str] = {}
    errors: Errors = {}
    agreed: list[str] = []
    declined: list[str] = []
    for agency in offer.agencies:
        answer = _first(form, f"agree-{agency.agency_id}")
        values[f"agree-{agency.agency_id}"] = answer
        if answer == AGREED:
            agreed.append(agency.agency_id)
        elif answer == NOT_AGREED:
            declined.append(agency.agency_id)
        else:
            errors[f"agree-{agency.agency_id}"] = (
                f"Select whether the resident agreed to share their details with {agency.name}"
            )
    method = _first(form, "method")
    recorded_by = _first(form, "recorded_by")
    values["method"], values["recorded_by"] = method, recorded_by
    if agreed and method not in {m for m, _ in METHOD_CHOICES}:
        errors["method"] = "Select how the resident gave their consent"
    if not recorded_by:
        errors["recorded_by"] = "Enter the name of who recorded the consent"
    elif len(recorded_by) > 200 or "\n" in recorded_by:
        errors["recorded_by"] = "Who recorded the consent must be one line of 200 characters"
    if errors:
        return await _consent(call, answers, values, errors)
    answers["consent"] = {
        "agreed": agreed,
        "declined": declined,
        "method": method if agreed else None,
        "recorded_by": recorded_by,
        "at": datetime.now(UTC).isoformat(),
    }
    await _keep(call, answers)
    raise _redirect(_next(call, answers, "/refer/told"))


async def _told(call: PageCall, values: dict[str, str], errors: Errors) -> web.Response:
    return render(
        call,
        "refer/told.html",
        400 if errors else 200,
        values=values,
        errors=errors,
        action=_action(call),
        back=_back(call, "/refer/consent"),
    )


@pages.page(
    "GET",
    "/refer/told",
    summary="Refer a resident: what they were told",
    action=Action.SUBMIT_REFERRAL,
)
async def told_page(call: PageCall) -> web.StreamResponse:
    """What the resident was told would happen next."""
    answers = await _answers(call)
    if "consent" not in answers:
        raise _redirect(_missing(answers) or "/refer/consent")
    return await _told(call, {"told": answers.get("told", "")}, {})


@pages.page(
    "POST",
    "/refer/told",
    summary="Refer a resident: keep what they were told",
    action=Action.SUBMIT_REFERRAL,
)
async def told_answer(call: PageCall) -> web.StreamResponse:
    """Keep what the resident was told."""
    told = _first(await _form(call), "told")
    if not told:
        return await _told(call, {"told": told}, {"told": "Enter what the resident was told"})
    if len(told) > TOLD_LIMIT:
        return await _told(
            call,
            {"told": told},
            {"told": "What the resident was told must be 1,000 characters or fewer"},
        )
    answers = await _answers(call)
    if "consent" not in answers:
        raise _redirect(_missing(answers) or "/refer/consent")
    answers["told"] = told
    await _keep(call, answers)
    raise _redirect("/refer/check")


def submission_of(
    answers: dict[str, Any], *, referrer: Referrer, offered: set[str]
) -> ReferralSubmission:
    """The referral a worker's answers make: the same model ``POST /api/referrals`` takes.

    How and when to contact the resident, and what they were told, go with each need's notes,
    which only the agency taking that need reads and which are erased with the resident."""
    contact = f"Contact {CONTACT_CHOICES[answers['contact_by']].lower()}"
    if answers.get("contact_when"):
        contact += f", best time: {answers['contact_when']}"
    told = f"The resident was told: {answers['told']}"
    consent = answers["consent"]
    # Only agencies still offered for the needs as they now are.
    agreed = [a for a in consent["agreed"] if a in offered]
    return ReferralSubmission(
        source=ReferralSource.REACH_OUT,
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
            Need(
                category=NeedCategory(need),
                urgency=Urgency(answers["need_details"][need]["urgency"]),
                notes="\n".join(
                    p for p in (answers["need_details"][need]["notes"], contact + ".", told) if p
                ),
            )
            for need in answers["needs"]
        ],
        consent=Consent(
            agency_ids=agreed,
            declined_agency_ids=[a for a in consent["declined"] if a in offered],
            given_at=datetime.fromisoformat(consent["at"]) if agreed else None,
            method=ConsentMethod(consent["method"]) if agreed else None,
            recorded_by=consent["recorded_by"],
        ),
        referrer=referrer,
    )


def _dob_words(iso: str | None) -> str:
    if not iso:
        return ""
    born = date.fromisoformat(iso)
    return f"{born.day} {born.strftime('%B')} {born.year}"


async def _check(call: PageCall, answers: dict[str, Any], errors: Errors) -> web.Response:
    offer = await _offer(call, answers)
    names = {a.agency_id: a.name for a in offer.agencies}
    consent = answers["consent"]
    return render(
        call,
        "refer/check.html",
        422 if errors else 200,
        answers=answers,
        errors=errors,
        needs=[
            (
                need_label(NeedCategory(n)),
                dict(URGENCY_CHOICES)[answers["need_details"][n]["urgency"]],
                answers["need_details"][n]["notes"],
            )
            for n in answers["needs"]
        ],
        contact_by=CONTACT_CHOICES[answers["contact_by"]],
        dob=_dob_words(answers.get("date_of_birth")),
        agreed=[names[a] for a in consent["agreed"] if a in names],
        declined=[names[a] for a in consent["declined"] if a in names],
        method=dict(METHOD_CHOICES).get(consent["method"] or "", ""),
    )


@pages.page(
    "GET", "/refer/check", summary="Refer a resident: check answers", action=Action.SUBMIT_REFERRAL
)
async def check_page(call: PageCall) -> web.StreamResponse:
    """Every answer, each with a link back to change it."""
    answers = await _answers(call)
    missing = _missing(answers)
    if missing is not None:
        raise _redirect(missing)
    return await _check(call, answers, {})


# Where each field the API refuses is answered in the journey.
_FIELD_PAGES = {
    "ward": "/refer/resident?change=1",
    "resident.date_of_birth": "/refer/resident?change=1",
    "resident.name": "/refer/resident?change=1",
    "consent.agency_ids": "/refer/consent?change=1",
}


@pages.page("POST", "/refer/check", summary="Refer a resident: send", action=Action.SUBMIT_REFERRAL)
async def submit(call: PageCall) -> web.StreamResponse:
    """Send the referral, as ``POST /api/referrals`` would under the journey's key; what the
    server refuses comes back as the check page's list of things to put right."""
    await require_form(call)
    answers = await _answers(call)
    missing = _missing(answers)
    if missing is not None:
        raise _redirect(missing)
    return await _send(call, answers)


async def _submission(call: PageCall, answers: dict[str, Any]) -> ReferralSubmission:
    user = call.me()
    offer = await _offer(call, answers)
    try:
        return submission_of(
            answers,
            referrer=Referrer(name=user.display_name, agency_id=user.principal.agency_id),
            offered=offer.agency_ids(),
        )
    except (ValidationError, KeyError, ValueError):
        raise web.HTTPUnprocessableEntity(
            reason="some answers need checking: go through the questions again"
        ) from None


async def _send(
    call: PageCall, answers: dict[str, Any], *, confirm_new: bool = False
) -> web.StreamResponse:
    user = call.me()
    submission = await _submission(call, answers)
    if confirm_new:
        submission = submission.model_copy(update={"confirm_new": True})
    try:
        created, _ = await take_referral_once(
            call.request.app,
            as_submitted_by(user.principal, submission),
            submitted_by=user.principal.subject,
            key=answers["key"],
            caller=user.principal,
        )
    except SameResident as exc:
        # Ask before making a second referral for the same person.
        answers["same_resident"] = {"number": exc.existing if exc.may_add else None}
        await _keep(call, answers)
        raise _redirect("/refer/same-resident") from None
    except DomainRefusal as exc:
        if exc.status != 422 or not exc.detail:
            raise
        # Message → the page that puts it right.
        errors = {
            f"{p['field']}: {p['message']}": _FIELD_PAGES.get(str(p["field"]), "/refer")
            for p in exc.detail
        }
        return await _check(call, answers, errors)
    log.info("referral made from the dashboard", referral=created.number)
    await _keep(call, {"key": str(uuid.uuid4()), "done": created.number})
    raise _redirect("/refer/done")


def _same_resident(answers: dict[str, Any]) -> dict[str, Any]:
    same = answers.get("same_resident")
    if not isinstance(same, dict) or _missing(answers) is not None:
        raise _redirect("/refer/check")
    return same


async def _same_resident_page(
    call: PageCall, answers: dict[str, Any], values: dict[str, str], errors: Errors
) -> web.Response:
    number = _same_resident(answers).get("number")
    return render(
        call,
        "refer/same_resident.html",
        422 if errors else 200,
        number=number,
        may_add=number is not None,
        needs=len(answers["needs"]),
        values=values,
        errors=errors,
    )


@pages.page(
    "GET",
    "/refer/same-resident",
    summary="Refer a resident: a referral for them is already open",
    action=Action.SUBMIT_REFERRAL,
)
async def same_resident_page(call: PageCall) -> web.StreamResponse:
    """Add the needs to the open referral for this person, or make a new referral."""
    answers = await _answers(call)
    return await _same_resident_page(call, answers, {}, {})


@pages.page(
    "POST",
    "/refer/same-resident",
    summary="Refer a resident: add to the open referral or make a new one",
    action=Action.SUBMIT_REFERRAL,
)
async def same_resident_answer(call: PageCall) -> web.StreamResponse:
    """Add each need to the open referral (as ``POST /api/referrals/{number}/needs``), or send
    a new referral confirmed as new (as ``"confirm_new": true``)."""
    form = await _form(call)
    answers = await _answers(call)
    number = _same_resident(answers).get("number")
    choice = _first(form, "choice")
    if choice == "new":
        return await _send(call, answers, confirm_new=True)
    if choice != "add" or number is None:
        errors = {"choice": "Select whether to add to the open referral or make a new one"}
        return await _same_resident_page(call, answers, {"choice": choice}, errors)
    submission = await _submission(call, answers)
    actor = call.me().principal.subject
    for need in submission.needs:
        await add_need_to_referral(call.request.app, str(number), need, actor=actor)
    log.info("needs added from the dashboard", referral=number, needs=len(submission.needs))
    await _keep(call, {"key": str(uuid.uuid4()), "done": number, "added": len(submission.needs)})
    raise _redirect("/refer/done")


@pages.page("GET", "/refer/done", summary="Refer a resident: sent", action=Action.SUBMIT_REFERRAL)
async def done(call: PageCall) -> web.StreamResponse:
    """The referral's number and what happens next."""
    answers = await _answers(call)
    number = answers.get("done")
    if not number:
        raise _redirect("/refer")
    return render(call, "refer/done.html", number=number, added=answers.get("added"), errors={})
