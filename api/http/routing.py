"""Route tables: each endpoint declares its models and roles once, for routing, auth and OpenAPI."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, TypeVar

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, BeforeValidator

from domain.access import Action, Principal, Role, may, roles_for
from domain.text import EDGE_CONTEXT

M = TypeVar("M", bound=BaseModel)


def _iso_8601(value: object) -> object:
    # Query strings are text; refuse pydantic's lax reading of "0.5" as a Unix time.
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("expected an RFC 3339 date-time, e.g. 2026-11-23T09:00:00Z") from None
    return value


QueryDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_8601)]
"""A date-time query parameter: RFC 3339 with an offset, nothing else."""


@dataclass(frozen=True, kw_only=True)
class Call:
    """One validated request as a handler sees it."""

    request: web.Request
    principal: Principal | None
    body: BaseModel | None = None
    query: BaseModel | None = None

    def body_as(self, model: type[M]) -> M:
        """The parsed body, typed."""
        assert isinstance(self.body, model)
        return self.body

    def query_as(self, model: type[M]) -> M:
        """The parsed query string, typed."""
        assert isinstance(self.query, model)
        return self.query

    def user(self) -> Principal:
        """The authenticated caller (every non-public endpoint has one)."""
        assert self.principal is not None
        return self.principal

    def path(self, name: str) -> str:
        """A path parameter."""
        return self.request.match_info[name]


Handler = Callable[[Call], Awaitable[BaseModel | web.StreamResponse]]
Authenticator = Callable[[web.Request], Awaitable[Principal | None]]


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """An HTTP endpoint and everything the API knows about it."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    public: bool = False
    # A public endpoint that authenticates its own way (a signed callback): run before the
    # body is read; it raises 401 with the reason, or returns who the caller is.
    verify: Authenticator | None = None
    headers: tuple[str, ...] = ()  # request headers it requires, for OpenAPI
    optional_headers: tuple[str, ...] = ()  # request headers it accepts, for OpenAPI
    action: Action | None = None  # what the access policy in domain.access is asked about
    roles: frozenset[Role] = frozenset()  # the roles the policy allows for ``action``
    body: type[BaseModel] | None = None
    strict_body: bool = False  # JSON types exactly as documented: no 0 for a date-time
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    content_type: str = "application/json"
    # Other media types its success may carry when asked (ORUK's format=ndjson), as text.
    also_content_types: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    also: tuple[int, ...] = ()  # other statuses that carry the response model


@dataclass
class RouteTable:
    """The endpoints of one feature, registered with a decorator."""

    tag: str
    endpoints: list[Endpoint] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        public: bool = False,
        verify: Authenticator | None = None,
        headers: Iterable[str] = (),
        optional_headers: Iterable[str] = (),
        action: Action | None = None,
        roles: Iterable[Role] = (),
        body: type[BaseModel] | None = None,
        strict_body: bool = False,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        content_type: str = "application/json",
        also_content_types: Iterable[str] = (),
        errors: Iterable[int] = (),
        also: Iterable[int] = (),
    ) -> Callable[[Handler], Handler]:
        """Register ``handler`` for ``method path``."""

        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method=method.upper(),
                    path=path,
                    handler=handler,
                    summary=summary,
                    tag=self.tag,
                    public=public,
                    verify=verify,
                    headers=tuple(headers),
                    optional_headers=tuple(optional_headers),
                    action=action,
                    roles=roles_for(action) if action is not None else frozenset(roles),
                    body=body,
                    strict_body=strict_body,
                    query=query,
                    response=response,
                    status=status,
                    content_type=content_type,
                    also_content_types=tuple(also_content_types),
                    errors=tuple(errors),
                    also=tuple(also),
                )
            )
            return handler

        return register


def json_response(model: BaseModel, status: int = 200) -> web.Response:
    """Serialise a model as a JSON response."""
    return web.Response(
        body=model.model_dump_json(by_alias=True), status=status, content_type="application/json"
    )


# What the audit trail reads back from a handled request.
ENDPOINT = web.RequestKey("endpoint", Endpoint)
PRINCIPAL = web.RequestKey("principal", Principal)


def wrap(
    endpoint: Endpoint, authenticate: Authenticator
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The aiohttp handler for an endpoint: authenticate, authorise, validate, call, serialise."""

    async def handle(request: web.Request) -> web.StreamResponse:
        principal = None
        request[ENDPOINT] = endpoint
        if endpoint.verify is not None:
            principal = await endpoint.verify(request)
            if principal is not None:
                request[PRINCIPAL] = principal
        elif not endpoint.public:
            principal = await authenticate(request)
            if principal is None:
                raise web.HTTPUnauthorized(
                    reason="a valid bearer token is required",
                    headers={"WWW-Authenticate": 'Bearer realm="partnerflow"'},
                )
            request[PRINCIPAL] = principal
            if endpoint.action is not None:
                if not may(principal, endpoint.action):
                    allowed = ", ".join(sorted(r.value for r in endpoint.roles))
                    raise web.HTTPForbidden(reason=f"this needs one of the roles: {allowed}")
            elif endpoint.roles and not principal.has_role(*endpoint.roles):
                allowed = ", ".join(sorted(r.value for r in endpoint.roles))
                raise web.HTTPForbidden(reason=f"this needs one of the roles: {allowed}")
        body = None
        if endpoint.body is not None:
            raw = await request.read()
            if not raw:
                raise web.HTTPBadRequest(reason="a JSON request body is required")
            body = endpoint.body.model_validate_json(
                raw, strict=endpoint.strict_body or None, context={EDGE_CONTEXT: True}
            )
        query = None
        if endpoint.query is not None:
            query = endpoint.query.model_validate(dict(request.query))
        result = await endpoint.handler(
            Call(request=request, principal=principal, body=body, query=query)
        )
        if isinstance(result, web.StreamResponse):
            return result
        return json_response(result, endpoint.status)

    return handle
