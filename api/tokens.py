"""API tokens: who am I, issue a token, revoke one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, RootModel

from api.http.routing import Call, RouteTable
from api.http.state import SESSIONS
from domain.access import Action, Principal, Role
from store.tokens import issue_token, revoke_token

routes = RouteTable("tokens")


Subject = Annotated[str, Field(min_length=1, max_length=200, description="Who it is for.")]
ValidDays = Annotated[int | None, Field(ge=1, le=3650, description="Expiry; none: no expiry.")]


class StaffTokenRequest(BaseModel):
    """A token for a member of staff, who belongs to no agency."""

    model_config = ConfigDict(extra="forbid")

    subject: Subject
    role: Literal[Role.ADMIN, Role.COORDINATOR, Role.REFERRER, Role.OPERATIONS]
    valid_days: ValidDays = None


class AgencyTokenRequest(BaseModel):
    """A token for a partner agency's user, bound to that agency."""

    model_config = ConfigDict(extra="forbid")

    subject: Subject
    role: Literal[Role.AGENCY]
    agency_id: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    valid_days: ValidDays = None


class TokenRequest(
    RootModel[Annotated[StaffTokenRequest | AgencyTokenRequest, Field(discriminator="role")]]
):
    """A token to issue for one user; agency users name their agency, staff do not."""


class IssuedToken(BaseModel):
    """A new token: the secret is shown only here, once."""

    id: str
    token: str
    subject: str
    role: Role
    agency_id: str | None
    expires_at: datetime | None


@routes.route(
    "GET", "/api/me", summary="The caller's identity", action=Action.VIEW_SELF, response=Principal
)
async def whoami(call: Call) -> Principal:
    """The authenticated principal behind the bearer token."""
    return call.user()


@routes.route(
    "POST",
    "/api/tokens",
    summary="Issue an API token",
    action=Action.MANAGE_TOKENS,
    body=TokenRequest,
    response=IssuedToken,
    status=201,
)
async def create_token(call: Call) -> IssuedToken:
    """Issue a bearer token for a user with one role (agency users name their agency)."""
    req = call.body_as(TokenRequest).root
    agency_id = req.agency_id if isinstance(req, AgencyTokenRequest) else None
    valid_for = timedelta(days=req.valid_days) if req.valid_days else None
    token_id, token = await issue_token(
        call.request.app[SESSIONS],
        subject=req.subject,
        role=req.role,
        agency_id=agency_id,
        valid_for=valid_for,
    )
    return IssuedToken(
        id=token_id,
        token=token,
        subject=req.subject,
        role=req.role,
        agency_id=agency_id,
        expires_at=datetime.now(UTC) + valid_for if valid_for else None,
    )


@routes.route(
    "DELETE",
    "/api/tokens/{token_id}",
    summary="Revoke an API token",
    action=Action.MANAGE_TOKENS,
    status=204,
    errors=(404,),
)
async def delete_token(call: Call) -> web.Response:
    """Revoke a token at once; later requests with it get 401."""
    if not await revoke_token(call.request.app[SESSIONS], call.path("token_id")):
        raise web.HTTPNotFound(reason="no live token with that id")
    return web.Response(status=204)
