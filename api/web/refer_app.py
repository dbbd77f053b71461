"""The referral journey on a doorstep with no signal: an installable web app over the same send.

``/refer/app`` is one page the service worker keeps, with the manifest that makes it
installable. Answers stay on the device, encrypted (AES-GCM, WebCrypto) with a key only the
signed-in session can fetch (``/refer/app/key``, derived from the session, never stored on the
device), until ``POST /refer/app/send`` takes them with the ``Idempotency-Key`` the device
made: the server resolves the postcode and validates again, and answers the number, or the
problems to put right as a list. Without JavaScript, ``/refer`` is the same journey online.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import date, datetime
from pathlib import Path

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.find.finder import need_choices
from api.find.places import PlaceProblem, resolve_place
from api.find.site import FIND_CONFIG
from api.http.errors import TEMPORAL_ERRORS, DomainRefusal, temporal_answer
from api.http.state import SESSIONS
from api.outreach import log_outreach_session
from api.referrals.submission import as_submitted_by, take_referral_once
from api.web.outreach_log import session_problems
from api.web.pages import SESSION_COOKIE, PageCall, PageHandler, PageTable, render
from api.web.refer import METHOD_CHOICES, URGENCY_CHOICES
from domain.access import Action
from domain.callbacks import IDEMPOTENCY_HEADER, valid_idempotency_key
from domain.directory import NeedCategory, Urgency
from domain.outreach import FIGURE_WORDS, OutreachFigure, OutreachLog
from domain.referral import (
    Consent,
    ConsentMethod,
    Need,
    ReferralSource,
    ReferralSubmission,
    Referrer,
    Resident,
)
from store.directory import load_directory
from store.names import read_names

log = structlog.get_logger(__name__)
pages = PageTable()
STATIC = Path(__file__).with_name("static") / "refer"
CSRF_HEADER = "X-CSRF-Token"
_FILES = {
    "/refer/sw.js": ("sw.js", "text/javascript"),
    "/refer/app.js": ("app.js", "text/javascript"),
    "/refer/manifest.webmanifest": ("manifest.webmanifest", "application/manifest+json"),
    "/refer/icon-192.png": ("icon-192.png", "image/png"),
    "/refer/icon-512.png": ("icon-512.png", "image/png"),
}


class DeviceReferral(BaseModel):
    """What the device kept and now sends: the answers as the worker gave them."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    date_of_birth: str = Field(default="", max_length=10)
    address: str = Field(default="", max_length=500)
    postcode: str = Field(max_length=10)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=320)
    needs: list[str] = Field(max_length=20)
    urgency: str = Field(max_length=20)
    notes: str = Field(default="", max_length=1000)
    agreed: list[str] = Field(default_factory=list, max_length=100)
    method: str = Field(default="", max_length=20)
    recorded_by: str = Field(max_length=200)
    told: str = Field(max_length=1000)
    given_at: datetime = Field(description="When the device kept the answers (consent given).")


class Problem(BaseModel):
    """One answer to put right."""

    field: str
    message: str


def _problems(status: int, problems: list[Problem]) -> web.Response:
    return web.json_response({"problems": [p.model_dump() for p in problems]}, status=status)


def device_key(call: PageCall) -> bytes:
    """The session's key for answers kept on the device: derived from the deployment's link
    keys and the session, so it is the same for every API process and unknown once the
    session has ended (the server no longer hands it out)."""
    cookie = call.request.cookies.get(SESSION_COOKIE, "")
    session_hash = hashlib.sha256(cookie.encode()).hexdigest()
    keys = call.request.app[FIND_CONFIG].link_keys
    return bytes.fromhex(keys.keyed_hash("device-answers", session_hash))


@pages.page("GET", "/refer/app", summary="The offline referral app", action=Action.SUBMIT_REFERRAL)
async def app_page(call: PageCall) -> web.StreamResponse:
    """The app's one page: the answers, the queue of unsent referrals and their state."""
    directory = await load_directory(call.request.app[SESSIONS])
    agencies = sorted((o.id, o.name) for o in directory.organisations)
    names = await read_names(call.request.app[SESSIONS])
    response = render(
        call,
        "refer/app.html",
        errors={},
        needs=need_choices(),
        urgencies=URGENCY_CHOICES,
        methods=METHOD_CHOICES,
        agencies=sorted(agencies, key=lambda a: a[1]),
        wards=sorted(names.wards.items(), key=lambda w: w[1]),
        figures=[(f.value, FIGURE_WORDS[f].capitalize()) for f in OutreachFigure],
    )
    # The service worker keeps its own copy; the browser's HTTP cache keeps none.
    return response


@pages.page(
    "GET", "/refer/app/key", summary="The session's device key", action=Action.SUBMIT_REFERRAL
)
async def app_key(call: PageCall) -> web.StreamResponse:
    """The AES-GCM key the device encrypts kept answers with, for this session only."""
    key = base64.b64encode(device_key(call)).decode()
    response = web.json_response({"key": key, "algorithm": "AES-GCM"})
    response.headers["Cache-Control"] = "no-store"
    return response


def _app_file(path: str) -> PageHandler:
    name, content_type = _FILES[path]

    async def serve(call: PageCall) -> web.StreamResponse:
        response = web.Response(body=(STATIC / name).read_bytes(), content_type=content_type)
        # Revalidated each time: a new version of the app reaches the device at once.
        response.headers["Cache-Control"] = "no-cache"
        if name == "sw.js":
            # A worker runs under its own script's policy: the API's "default-src 'none'"
            # would stop it fetching the pages it keeps.
            response.headers["Content-Security-Policy"] = (
                "default-src 'none'; connect-src 'self'; script-src 'self'"
            )
        return response

    serve.__name__ = serve.__qualname__ = "app_" + name.replace(".", "_").replace("-", "_")
    serve.__doc__ = f"The offline app's {name}."
    return serve


for _path in _FILES:
    pages.page("GET", _path, summary=f"The offline app's {_path.rsplit('/', 1)[1]}", public=True)(
        _app_file(_path)
    )


def _submission(answers: DeviceReferral, *, ward: str, referrer: Referrer) -> ReferralSubmission:
    """The referral the device's answers make: the model ``POST /api/referrals`` takes."""
    born = date.fromisoformat(answers.date_of_birth) if answers.date_of_birth else None
    told = f"The resident was told: {answers.told.strip()}"
    agreed = list(dict.fromkeys(answers.agreed))
    return ReferralSubmission(
        source=ReferralSource.REACH_OUT,
        ward=ward,
        resident=Resident(
            name=answers.name.strip(),
            date_of_birth=born,
            address=answers.address.strip() or None,
            postcode=answers.postcode.strip().upper(),
            phone=answers.phone.strip() or None,
            email=answers.email.strip() or None,
        ),
        needs=[
            Need(
                category=NeedCategory(need),
                urgency=Urgency(answers.urgency),
                notes="\n".join(p for p in (answers.notes.strip(), told) if p),
            )
            for need in dict.fromkeys(answers.needs)
        ],
        consent=Consent(
            agency_ids=agreed,
            given_at=answers.given_at if agreed else None,
            method=ConsentMethod(answers.method) if agreed else None,
            recorded_by=answers.recorded_by.strip(),
        ),
        referrer=referrer,
    )


def _answer_problems(answers: DeviceReferral) -> list[Problem]:
    """What the server can say without the store: missing and malformed answers."""
    found: list[Problem] = []
    if not answers.name.strip():
        found.append(Problem(field="name", message="Enter the resident's full name"))
    if not answers.postcode.strip():
        found.append(Problem(field="postcode", message="Enter the resident's postcode"))
    if not [n for n in answers.needs if n in set(NeedCategory)]:
        found.append(Problem(field="needs", message="Select what the resident needs help with"))
    if answers.urgency not in set(Urgency):
        found.append(Problem(field="urgency", message="Select how soon the resident needs help"))
    if answers.agreed and answers.method not in set(ConsentMethod):
        found.append(Problem(field="method", message="Select how the resident gave consent"))
    if not answers.recorded_by.strip():
        found.append(Problem(field="recorded_by", message="Enter who recorded the consent"))
    if not answers.told.strip():
        found.append(Problem(field="told", message="Enter what the resident was told"))
    return found


_API_FIELDS = {
    "consent.agency_ids": "agreed",
    "resident.date_of_birth": "date_of_birth",
    "resident.name": "name",
    "ward": "postcode",
}


def _device_refusal(call: PageCall) -> web.Response | None:
    """400 unless the request carries the page's CSRF token and the device's key."""
    token = call.request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(token, call.me().csrf_token):
        # 400, not 403: the role may send; this request lacks the page's token.
        return _problems(
            400,
            [Problem(field="", message=f"the {CSRF_HEADER} header must carry the page's token")],
        )
    if not valid_idempotency_key(call.request.headers.get(IDEMPOTENCY_HEADER, "")):
        return _problems(
            400, [Problem(field="", message=f"the {IDEMPOTENCY_HEADER} header is missing")]
        )
    return None


@pages.page(
    "POST",
    "/refer/app/send",
    summary="Send a referral kept on the device",
    action=Action.SUBMIT_REFERRAL,
)
async def send(call: PageCall) -> web.StreamResponse:
    """Validate again and make the referral, as ``POST /api/referrals`` does under the
    device's ``Idempotency-Key``: ``201`` with the number (the first one's on a resend), or
    ``422`` with ``{"problems": [{"field", "message"}]}`` to put right."""
    refused = _device_refusal(call)
    if refused is not None:
        return refused
    user = call.me()
    key = call.request.headers[IDEMPOTENCY_HEADER]
    try:
        answers = DeviceReferral.model_validate_json(await call.request.read())
    except ValidationError as exc:
        return _problems(
            422,
            [Problem(field=".".join(map(str, e["loc"])), message=e["msg"]) for e in exc.errors()],
        )
    found = _answer_problems(answers)
    ward = None
    if not any(p.field == "postcode" for p in found):
        place = await resolve_place(call.request.app, answers.postcode)
        if isinstance(place, PlaceProblem) or place.ward is None:
            found.append(
                Problem(
                    field="postcode",
                    message="Enter a postcode in the area the partnership covers, like CO15 6JQ",
                )
            )
        else:
            ward = place.ward
    if found or ward is None:
        return _problems(422, found)
    try:
        submission = _submission(
            answers,
            ward=ward,
            referrer=Referrer(name=user.display_name, agency_id=user.principal.agency_id),
        )
        created, replayed = await take_referral_once(
            call.request.app,
            as_submitted_by(user.principal, submission),
            submitted_by=user.principal.subject,
            key=key,
        )
    except ValidationError as exc:
        return _problems(
            422,
            [Problem(field=".".join(map(str, e["loc"])), message=e["msg"]) for e in exc.errors()],
        )
    except DomainRefusal as exc:
        if exc.detail:
            return _problems(
                exc.status,
                [
                    Problem(
                        field=_API_FIELDS.get(str(p["field"]), str(p["field"])),
                        message=str(p["message"]),
                    )
                    for p in exc.detail
                ],
            )
        return _problems(exc.status, [Problem(field="", message=exc.reason)])
    except TEMPORAL_ERRORS as exc:
        status, reason, headers = temporal_answer(exc)
        response = _problems(status, [Problem(field="", message=reason)])
        response.headers.update(headers)
        return response
    log.info("referral sent from a device", referral=created.number, resent=replayed)
    return web.json_response(
        json.loads(created.model_dump_json()) | {"replayed": replayed}, status=201
    )


@pages.page(
    "POST",
    "/refer/app/outreach",
    summary="Send a Reach Out session kept on the device",
    action=Action.SUBMIT_REFERRAL,
)
async def send_outreach(call: PageCall) -> web.StreamResponse:
    """Log a session the device kept, once under its ``Idempotency-Key``: ``201`` with the
    session, or ``422`` with the problems to put right, as for a referral."""
    refused = _device_refusal(call)
    if refused is not None:
        return refused
    try:
        raw = json.loads(await call.request.read())
        # An answer left blank on the device is one not given.
        if isinstance(raw, dict):
            raw = {k: None if v == "" else v for k, v in raw.items()}
        entry = OutreachLog.model_validate(raw)
    except ValueError as exc:
        problems = session_problems(exc) if isinstance(exc, ValidationError) else {"": str(exc)}
        return _problems(422, [Problem(field=f, message=m) for f, m in problems.items()])
    try:
        logged, replayed = await log_outreach_session(
            call.request.app,
            entry,
            logged_by=call.me().principal.subject,
            key=call.request.headers[IDEMPOTENCY_HEADER],
        )
    except DomainRefusal as exc:
        field = "ward" if exc.status == 422 else ""
        message = "Select a ward of the borough" if field else exc.reason
        return _problems(exc.status, [Problem(field=field, message=message)])
    log.info("outreach session sent from a device", session=logged.session.session_id)
    return web.json_response(
        json.loads(logged.model_dump_json()) | {"replayed": replayed}, status=201
    )
