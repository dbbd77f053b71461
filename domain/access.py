"""Who is calling: roles and the authenticated principal."""

from __future__ import annotations

from enum import StrEnum

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
