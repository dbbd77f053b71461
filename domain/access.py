"""Who may do what: roles, the authenticated principal, and the one access policy.

Every API endpoint and dashboard page names the :class:`Action` it performs; whether a
caller may perform it is decided here and nowhere else. Record-level rules (an agency sees
only legs sent to it, a referrer only the referrals they made, operations no clinical notes)
live here too, so handlers ask rather than decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator


class Role(StrEnum):
    """What a user of partnerflow is allowed to do, broadly."""

    ADMIN = "admin"
    COORDINATOR = "coordinator"
    AGENCY = "agency"
    REFERRER = "referrer"
    OPERATIONS = "operations"


class Principal(BaseModel):
    """An authenticated caller: a named user with one role (and an agency for agency staff)."""

    model_config = ConfigDict(frozen=True)

    subject: str
    role: Role
    agency_id: str | None = None

    @model_validator(mode="after")
    def _agency_users_belong_to_an_agency(self) -> Principal:
        if self.role is Role.AGENCY and not self.agency_id:
            raise ValueError("agency users must name their agency")
        if self.role is not Role.AGENCY and self.agency_id:
            raise ValueError("only agency users belong to an agency")
        return self

    def has_role(self, *roles: Role) -> bool:
        """Whether this principal holds one of ``roles``; admins hold every role."""
        return self.role is Role.ADMIN or self.role in roles


class Action(StrEnum):
    """Something a caller asks partnerflow to do; each endpoint and page performs one."""

    VIEW_SELF = "view_self"
    MANAGE_TOKENS = "manage_tokens"
    DECODE_PAYLOADS = "decode_payloads"
    READ_AUDIT = "read_audit"
    VIEW_DASHBOARD = "view_dashboard"
    READ_DIRECTORY = "read_directory"
    MANAGE_DIRECTORY = "manage_directory"
    SUBMIT_REFERRAL = "submit_referral"
    READ_REFERRALS = "read_referrals"
    ACT_ON_LEG = "act_on_leg"
    MANAGE_REFERRAL = "manage_referral"
    ERASE_PERSONAL_DATA = "erase_personal_data"
    READ_STATISTICS = "read_statistics"
    READ_PARTNERSHIPS = "read_partnerships"
    MANAGE_PARTNERSHIPS = "manage_partnerships"
    SUBMIT_PARTNER_RETURN = "submit_partner_return"
    WORK_UNALLOCATED = "work_unallocated"
    REPORT_CAPACITY = "report_capacity"
    SET_EMAIL_DETAILS = "set_email_details"


_ALL: Final = frozenset(Role)
_STAFF: Final = frozenset({Role.ADMIN, Role.COORDINATOR, Role.OPERATIONS})

POLICY: Final[Mapping[Action, frozenset[Role]]] = MappingProxyType(
    {
        Action.VIEW_SELF: _ALL,
        Action.MANAGE_TOKENS: frozenset({Role.ADMIN}),
        # Decoding history shows personal data: only staff who run the system.
        Action.DECODE_PAYLOADS: _STAFF,
        Action.READ_AUDIT: frozenset({Role.ADMIN}),
        Action.VIEW_DASHBOARD: _ALL,
        Action.READ_DIRECTORY: _ALL,
        Action.MANAGE_DIRECTORY: frozenset({Role.ADMIN, Role.COORDINATOR}),
        # Front-desk staff of any agency refer too, as do Reach Out workers (referrers).
        Action.SUBMIT_REFERRAL: frozenset(
            {Role.ADMIN, Role.COORDINATOR, Role.REFERRER, Role.AGENCY}
        ),
        # Everyone may list, but each sees only what the record-level rules below allow.
        Action.READ_REFERRALS: _ALL,
        Action.ACT_ON_LEG: frozenset({Role.ADMIN, Role.AGENCY}),
        # Withdraw a referral, record a follow-up, withdraw consent.
        Action.MANAGE_REFERRAL: frozenset({Role.ADMIN, Role.COORDINATOR, Role.REFERRER}),
        Action.ERASE_PERSONAL_DATA: frozenset({Role.ADMIN, Role.COORDINATOR}),
        Action.READ_STATISTICS: _STAFF,
        # Partnership plans name partners' money and staff: staff read them; partner agencies
        # act on their own commitments and returns only.
        Action.READ_PARTNERSHIPS: _STAFF,
        Action.MANAGE_PARTNERSHIPS: frozenset({Role.ADMIN, Role.COORDINATOR}),
        Action.SUBMIT_PARTNER_RETURN: frozenset({Role.ADMIN, Role.COORDINATOR, Role.AGENCY}),
        # The co-ordinator's queue of unallocated needs: read and acted on by co-ordinators.
        Action.WORK_UNALLOCATED: frozenset({Role.ADMIN, Role.COORDINATOR}),
        # A service's room now: said by its own agency, or by the staff who keep the directory.
        Action.REPORT_CAPACITY: frozenset({Role.ADMIN, Role.COORDINATOR, Role.AGENCY}),
        # Residents' details by email to an agency, for a lawful reason: admins only.
        Action.SET_EMAIL_DETAILS: frozenset({Role.ADMIN}),
    }
)


def may(principal: Principal, action: Action) -> bool:
    """Whether ``principal``'s role allows ``action`` at all."""
    return principal.role in POLICY[action]


def roles_for(action: Action) -> frozenset[Role]:
    """The roles allowed to perform ``action``."""
    return POLICY[action]


def sees_all_referrals(principal: Principal) -> bool:
    """Staff see every referral; agencies and referrers only their own share."""
    return principal.role in _STAFF


def may_see_referral(principal: Principal, *, referrer: str, agency_ids: Iterable[str]) -> bool:
    """Whether ``principal`` may see a referral made by ``referrer`` with legs to ``agency_ids``."""
    if sees_all_referrals(principal):
        return True
    if principal.role is Role.AGENCY:
        return principal.agency_id in set(agency_ids)
    return principal.role is Role.REFERRER and principal.subject == referrer


def may_act_for_agency(principal: Principal, agency_id: str) -> bool:
    """Whether ``principal`` may act on a leg sent to ``agency_id`` (only that agency's staff)."""
    if principal.role is Role.AGENCY:
        return principal.agency_id == agency_id
    return principal.role is Role.ADMIN


def may_report_capacity(principal: Principal, agency_id: str) -> bool:
    """Whether ``principal`` may say how much room ``agency_id``'s services have."""
    if principal.role is Role.AGENCY:
        return principal.agency_id == agency_id
    return principal.role in {Role.ADMIN, Role.COORDINATOR}


def may_manage_referral(principal: Principal, *, referrer: str) -> bool:
    """Whether ``principal`` may withdraw, follow up or withdraw consent for a referral."""
    if principal.role in {Role.ADMIN, Role.COORDINATOR}:
        return True
    return principal.role is Role.REFERRER and principal.subject == referrer


def may_read_notes(principal: Principal, *, referrer: str, agency_ids: Iterable[str]) -> bool:
    """Whether ``principal`` may read a referral's clinical notes and the resident's details.

    Operations staff watch processes, not people: they see status without notes.
    """
    if principal.role is Role.OPERATIONS:
        return False
    return may_see_referral(principal, referrer=referrer, agency_ids=agency_ids)


# --- Free text about the resident -------------------------------------------------------------

FREE_TEXT_EVENTS: Final = frozenset({"declined", "withdrawn", "need_closed", "consent_recorded"})
"""Referral events whose detail is someone's free text (a decline or withdrawal reason, a
co-ordinator's note), not words the system wrote."""
POSSIBLE_DUPLICATE_EVENT: Final = "possible_duplicate"
"""A referral's event naming open referrals for the same resident: staff only, since it names
referrals its referrer may not see (the co-ordinator links them)."""
FREE_TEXT_FIELDS: Final = ("decline_reason", "withdraw_reason", "status_reason", "outcome_note")
"""Fields of a referral, its legs or its needs that hold someone's free text (a live leg's
outcome holds its note within: see :func:`without_free_text`)."""
WITHHELD: Final = "(withheld)"

ModelT = TypeVar("ModelT", bound=BaseModel)


def may_read_free_text(principal: Principal, *, referrer: str, agency_ids: Iterable[str]) -> bool:
    """Whether ``principal`` may read the free text agencies and referrers wrote about the
    resident (decline and withdrawal reasons, outcome notes): as for notes, never operations
    staff."""
    return may_read_notes(principal, referrer=referrer, agency_ids=agency_ids)


def without_free_text(model: ModelT) -> ModelT:
    """A copy of a referral (stored or live), leg or event with every free-text value
    withheld, nested legs, needs, events and summaries included."""
    update: dict[str, object] = {
        name: WITHHELD for name in FREE_TEXT_FIELDS if getattr(model, name, None)
    }
    kind, detail = getattr(model, "kind", None), getattr(model, "detail", None)
    if kind in FREE_TEXT_EVENTS and detail:
        update["detail"] = WITHHELD
    for name in ("legs", "needs", "events"):
        items = getattr(model, name, None)
        if isinstance(items, list):
            update[name] = [without_free_text(i) if isinstance(i, BaseModel) else i for i in items]
    nested = getattr(model, "summary", None)
    if isinstance(nested, BaseModel):
        update["summary"] = without_free_text(nested)
    outcome = getattr(model, "outcome", None)
    if isinstance(outcome, BaseModel) and getattr(outcome, "note", None):
        update["outcome"] = outcome.model_copy(update={"note": WITHHELD})
    return model.model_copy(update=update)


class LegRef(Protocol):
    """What the share rule needs of a leg: which need it serves and which agency it went to."""

    @property
    def leg_id(self) -> str: ...

    @property
    def need_id(self) -> str: ...

    @property
    def agency_id(self) -> str: ...

    @property
    def state(self) -> str: ...


HOLDING_LEG_STATES: Final = frozenset(
    {"sent", "accepted", "in_progress", "outcome_recorded", "closed"}
)
"""Leg states in which the agency holds (or is deciding on) the case. A leg that ended any
other way (declined, expired, withdrawn: re-routed, offer lost, consent withdrawn) ends the
agency's access to the resident's personal data."""


@dataclass(frozen=True, kw_only=True)
class ReferralShare:
    """What one caller may see of one referral: its legs and needs, the resident's details and
    the notes of which needs, and the notifications sent. The API and the dashboard both show a
    referral through this, so they cannot disagree."""

    everything: bool
    leg_ids: frozenset[str]
    need_ids: frozenset[str]
    personal: bool
    notifications: bool
    free_text: bool = False
    staff: bool = False

    def sees_leg(self, leg_id: str) -> bool:
        """Whether the leg is in this caller's share."""
        return self.everything or leg_id in self.leg_ids

    def sees_need(self, need_id: str) -> bool:
        """Whether the need (and its notes) is in this caller's share."""
        return self.everything or need_id in self.need_ids

    def sees_event(self, leg_id: str | None, need_id: str | None, kind: str = "") -> bool:
        """Whether a timeline event is: one about a leg or a need outside the share is not,
        nor, but to staff, one naming other referrals for the same resident."""
        if kind == POSSIBLE_DUPLICATE_EVENT and not self.staff:
            return False
        if self.everything:
            return True
        if leg_id is not None:
            return leg_id in self.leg_ids
        return need_id is None or need_id in self.need_ids

    def shown(self, model: ModelT) -> ModelT:
        """``model`` (a referral, leg or event) as this caller may see it: the free text others
        wrote about the resident withheld unless they may read it."""
        return model if self.free_text else without_free_text(model)

    def notes(self, need_notes: Mapping[str, str]) -> dict[str, str]:
        """The notes this caller may read, by need id (none without ``personal``)."""
        if not self.personal:
            return {}
        return {need: text for need, text in need_notes.items() if self.sees_need(need)}


def referral_share(
    principal: Principal, *, referrer: str, legs: Iterable[LegRef]
) -> ReferralShare | None:
    """What ``principal`` may see of a referral made by ``referrer`` with ``legs``; ``None``
    when they may not see it at all (it then answers as if it did not exist).

    An agency sees what was sent to it: its own legs, their needs and those needs' notes, never
    where else the resident was referred, and the resident's details only while one of its
    legs holds the case. Operations see every leg but no personal data.
    """
    legs = list(legs)
    agency_ids = {leg.agency_id for leg in legs}
    if not may_see_referral(principal, referrer=referrer, agency_ids=agency_ids):
        return None
    personal = may_read_notes(principal, referrer=referrer, agency_ids=agency_ids)
    if principal.role is Role.AGENCY:
        own = [leg for leg in legs if leg.agency_id == principal.agency_id]
        # Access ends with the leg: an agency that no longer holds the case keeps the number,
        # its own legs' states and what it wrote, not the resident's details.
        holds = any(str(leg.state) in HOLDING_LEG_STATES for leg in own)
        return ReferralShare(
            everything=False,
            leg_ids=frozenset(leg.leg_id for leg in own),
            need_ids=frozenset(leg.need_id for leg in own),
            personal=personal and holds,
            notifications=False,
            free_text=personal,
        )
    return ReferralShare(
        everything=True,
        leg_ids=frozenset(leg.leg_id for leg in legs),
        need_ids=frozenset(leg.need_id for leg in legs),
        personal=personal,
        notifications=True,
        free_text=personal,
        staff=sees_all_referrals(principal),
    )


def sees_agency_workload(principal: Principal, agency_id: str | None) -> bool:
    """Whether ``principal`` may see what waits on an agency (``None``: on the co-ordinator
    or partners): staff see every line, agency users their own agency's only."""
    if sees_all_referrals(principal):
        return True
    return (
        principal.role is Role.AGENCY and agency_id is not None and principal.agency_id == agency_id
    )


def sees_agency_part(principal: Principal, agency_id: str) -> bool:
    """Whether ``principal``, who may see a referral, may see that it went to ``agency_id``:
    an agency sees only its own part, never where else the resident was referred."""
    if principal.role is Role.AGENCY:
        return principal.agency_id == agency_id
    return True


@dataclass(frozen=True)
class ListShare:
    """What part of the referral list a caller sees: the narrowing to apply, or nothing."""

    agency_id: str | None
    """Only referrals with a leg to this agency."""
    submitted_by: str | None
    """Only referrals this subject submitted."""
    empty: bool = False
    """The caller asked for a part that is not theirs: they see no referral at all."""


def referral_list_share(principal: Principal, asked_agency: str | None) -> ListShare:
    """The one rule that narrows a referral list to the caller's share, for the API and the
    dashboard alike: staff see every referral (filtered by ``asked_agency`` if given); agency
    users only those with a leg to their agency, and nothing when they ask for another's;
    everyone else only their own."""
    if sees_all_referrals(principal):
        return ListShare(agency_id=asked_agency, submitted_by=None)
    if principal.role is Role.AGENCY:
        own = principal.agency_id
        return ListShare(agency_id=own, submitted_by=None, empty=asked_agency not in (None, own))
    return ListShare(agency_id=asked_agency, submitted_by=principal.subject)
