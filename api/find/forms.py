"""The self-referral's questions: each page's answers checked, with messages in the GOV.UK
Design System's style (what is wrong and how to put it right), keyed by the field's id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, EmailStr, ValidationError

from api.find.site import first
from domain.directory import NeedCategory, Urgency
from domain.postcodes import normalise_postcode

Form = dict[str, list[str]]
Errors = dict[str, str]
_PHONE = re.compile(r"^\+?[0-9 ()-]{10,20}$")
CONTACT_CHOICES = {
    "email": "By email",
    "phone": "By phone",
    "either": "Either is fine",
}
ASKED_BEFORE_CHOICES = {
    "yes": "Yes, I am still waiting or getting help",
    "no": "No",
    "not_sure": "I am not sure",
}
"""Whether the resident has an earlier request open. Asked, never told: anyone can type a
name, so the site never says whether a referral for it exists; the co-ordinator joins them."""


class _Email(BaseModel):
    address: EmailStr


@dataclass
class Checked:
    """A page's answers as given (to show again) and what is wrong with them."""

    values: dict[str, object]
    errors: Errors


def check_needs(form: Form) -> Checked:
    """Page 1: one or more needs, how soon, and optionally more in the resident's words."""
    needs = [n for n in form.get("needs", []) if n in set(NeedCategory)]
    urgency = first(form, "urgency")
    details = first(form, "details")
    errors: Errors = {}
    if not needs:
        errors["needs"] = "Select what you need help with"
    if urgency not in set(Urgency):
        errors["urgency"] = "Select how soon you need help"
    if len(details) > 1000:
        errors["details"] = "Tell us more in 1,000 characters or fewer"
    return Checked({"needs": needs, "urgency": urgency, "details": details}, errors)


def _date_of_birth(day: str, month: str, year: str, errors: Errors, today: date) -> str:
    if not (day or month or year):
        return ""
    if not (day and month and year):
        missing = [n for n, v in (("day", day), ("month", month), ("year", year)) if not v]
        field = f"dob-{missing[0]}"
        errors[field] = "Date of birth must include a " + " and ".join(missing)
        return ""
    try:
        born = date(int(year), int(month), int(day))
    except ValueError:
        errors["dob-day"] = "Date of birth must be a real date"
        return ""
    if born >= today:
        errors["dob-day"] = "Date of birth must be in the past"
    elif born.year < today.year - 130:
        errors["dob-year"] = "Date of birth must be after " + str(today.year - 130)
    return born.isoformat()


def check_about_you(form: Form, *, today: date) -> Checked:
    """Page 2: name, date of birth (optional), address and postcode, how and when to call."""
    v = {
        name: first(form, name)
        for name in (
            "name",
            "dob-day",
            "dob-month",
            "dob-year",
            "address",
            "postcode",
            "email",
            "phone",
            "contact_by",
            "contact_when",
            "asked_before",
        )
    }
    errors: Errors = {}
    if not v["name"]:
        errors["name"] = "Enter your full name"
    elif len(v["name"]) > 200:
        errors["name"] = "Full name must be 200 characters or fewer"
    dob = _date_of_birth(v["dob-day"], v["dob-month"], v["dob-year"], errors, today)
    if len(v["address"]) > 400:
        errors["address"] = "Address must be 400 characters or fewer"
    postcode = normalise_postcode(v["postcode"]) if v["postcode"] else None
    if not v["postcode"]:
        errors["postcode"] = "Enter your postcode"
    elif postcode is None:
        errors["postcode"] = "Enter a real postcode, like CO15 6JQ"
    if v["email"]:
        try:
            _Email(address=v["email"])
        except ValidationError:
            errors["email"] = "Enter an email address in the correct format, like name@example.com"
    if v["phone"] and not _PHONE.fullmatch(v["phone"]):
        errors["phone"] = "Enter a telephone number, like 01255 000000 or 07700 900 982"
    if not v["email"] and not v["phone"] and "email" not in errors:
        errors["email"] = "Enter an email address or a phone number so services can contact you"
    if v["contact_by"] not in CONTACT_CHOICES:
        errors["contact_by"] = "Select how you would like services to contact you"
    elif v["contact_by"] == "email" and not v["email"] and "email" not in errors:
        errors["email"] = "Enter your email address, or choose to be contacted by phone"
    elif v["contact_by"] == "phone" and not v["phone"] and "phone" not in errors:
        errors["phone"] = "Enter your phone number, or choose to be contacted by email"
    if v["asked_before"] and v["asked_before"] not in ASKED_BEFORE_CHOICES:
        errors["asked_before"] = "Select whether you have asked us for help before"
    if len(v["contact_when"]) > 200:
        errors["contact_when"] = "Best time to contact you must be 200 characters or fewer"
    values: dict[str, object] = dict(v)
    values["postcode"] = postcode or v["postcode"]
    values["date_of_birth"] = dob
    return Checked(values, errors)


NO_SHARING = "none"


def check_consent(form: Form, offered: set[str]) -> Checked:
    """Page 3: the agencies the resident agrees to share with, or none of them."""
    chosen = [a for a in form.get("consent", []) if a in offered or a == NO_SHARING]
    errors: Errors = {}
    if not chosen:
        errors["consent"] = (
            "Select who we can share your details with, or select that you do not want us "
            "to share them"
        )
    elif NO_SHARING in chosen and len(chosen) > 1:
        errors["consent"] = (
            "Select organisations to share your details with, or that you do not want us to "
            "share them, not both"
        )
    return Checked({"consent": chosen}, errors)
