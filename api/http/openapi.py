"""The OpenAPI 3.1 document, generated from the route tables and their pydantic models, with
every event posted to partners' webhooks under ``webhooks``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.http.errors import Problem
from api.http.routing import Endpoint
from domain.callbacks import IDEMPOTENCY_HEADER
from domain.signature import SIGNATURE_HEADER
from domain.webhook_events import (
    EVENT_HEADER,
    WEBHOOK_EVENTS,
    WebhookEventType,
    event_body_schema,
)

_PARAM = re.compile(r"{(\w+)}")
_ANY: dict[str, Any] = {"schema": {"type": "string"}}
# Optional request headers with more to say than "a string".
_HEADER_DOCS: dict[str, dict[str, Any]] = {
    IDEMPOTENCY_HEADER: {
        "description": (
            "A key the client makes once per referral (a UUID, say): a resend with the same key"
            " and body answers with the first referral's number and makes no second referral;"
            " the same key with another body is refused (409). Kept seven days."
        ),
        "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
    },
}
_REF = "#/components/schemas/{model}"
_STATUS_TEXT = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "Not allowed for this role",
    404: "Not found",
    409: "Refused in the current state",
    413: "Body too large",
    422: "Invalid input",
    503: "A dependency is unavailable",
}


def _plain(schema: Any) -> Any:
    """The schema without ``discriminator`` hints: each ``oneOf`` branch already fixes its own
    tag, and generic clients and fuzzers misread the mapping (several tags to one branch)."""
    if isinstance(schema, dict):
        return {k: _plain(v) for k, v in schema.items() if k != "discriminator"}
    if isinstance(schema, list):
        return [_plain(v) for v in schema]
    return schema


def webhook_schema_name(event: WebhookEventType) -> str:
    """The component name of an event's body schema: ``referral.leg_sent`` is
    ``ReferralLegSentWebhook``."""
    return "".join(p.capitalize() for p in re.split(r"[._]", event.name)) + "Webhook"


def _webhook_operation(event: WebhookEventType, schema: str) -> dict[str, Any]:
    """What partnerflow posts for ``event`` to a partner's webhook, and what it expects back."""
    headers = {
        IDEMPOTENCY_HEADER: "The event's id: drop an event whose id was seen before.",
        EVENT_HEADER: f"The event's name: {event.name}.",
        SIGNATURE_HEADER: 't=<unix time>,v1=<hex HMAC-SHA256 of "t.body"> with the webhook '
        "secret: refuse a wrong one, or one older than five minutes.",
    }
    return {
        "summary": event.name,
        "description": event.description,
        "operationId": "webhook_" + re.sub(r"\W", "_", event.name),
        "tags": ["webhooks"],
        "parameters": [
            {
                "name": header,
                "in": "header",
                "required": True,
                "description": words,
                "schema": {"type": "string"},
            }
            for header, words in headers.items()
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=schema)}}},
        },
        "responses": {
            "2XX": {
                "description": "Received. Any other answer, or none in time, is retried with "
                "the same id."
            }
        },
        "security": [],
    }


def build_openapi(endpoints: Iterable[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    """Describe every endpoint, its parameters, body, responses and security."""
    endpoints = list(endpoints)
    models: set[type[BaseModel]] = {Problem, *(e.data for e in WEBHOOK_EVENTS)}
    for ep in endpoints:
        models.update(m for m in (ep.body, ep.response) if m is not None)
    ordered = sorted(models, key=lambda m: m.__name__)
    _, defs = models_json_schema([(m, "validation") for m in ordered], ref_template=_REF)
    schemas: dict[str, Any] = {
        name: _plain(schema) for name, schema in defs.get("$defs", {}).items()
    }

    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        op: dict[str, Any] = {
            "summary": ep.summary,
            "operationId": ep.handler.__name__,
            "tags": [ep.tag],
            "responses": {},
        }
        doc = (ep.handler.__doc__ or "").strip()
        if doc:
            op["description"] = doc
        params: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAM.findall(ep.path)
        ]
        if ep.query is not None:
            qschema = ep.query.model_json_schema(ref_template=_REF)
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                params.append(
                    {"name": name, "in": "query", "required": name in required, "schema": prop}
                )
        params += [
            {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
            for name in ep.headers
        ]
        params += [
            {"name": name, "in": "header", "required": False, **_HEADER_DOCS.get(name, _ANY)}
            for name in ep.optional_headers
        ]
        if params:
            op["parameters"] = params
        if ep.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model=ep.body.__name__)}}
                },
            }
        ok: dict[str, Any] = {"description": "Success"}
        if ep.response is not None:
            ok["content"] = {
                ep.content_type: {"schema": {"$ref": _REF.format(model=ep.response.__name__)}}
            }
        elif ep.content_type != "application/json":
            ok["content"] = {ep.content_type: {"schema": {"type": "string"}}}
        for media in ep.also_content_types:
            ok.setdefault("content", {})[media] = {"schema": {"type": "string"}}
        op["responses"][str(ep.status)] = ok
        for code in ep.also:
            op["responses"][str(code)] = {**ok, "description": _STATUS_TEXT.get(code, "Error")}
        codes = set(ep.errors)
        if ep.body is not None or ep.query is not None:
            codes |= {400, 422}
        if ep.verify is not None:
            codes |= {401}
            op["security"] = [{"signature": []}]
        elif not ep.public:
            codes |= {401}
            if ep.roles:
                codes |= {403}
            op["security"] = [{"bearer": []}]
        else:
            op["security"] = []
        for code in sorted(codes):
            op["responses"][str(code)] = {
                "description": _STATUS_TEXT.get(code, "Error"),
                "content": {"application/json": {"schema": {"$ref": _REF.format(model="Problem")}}},
            }
        if ep.roles:
            op["x-roles"] = sorted(r.value for r in ep.roles)
        paths.setdefault(ep.path, {})[ep.method.lower()] = op

    webhooks: dict[str, Any] = {}
    for event in WEBHOOK_EVENTS:
        name = webhook_schema_name(event)
        schemas[name] = event_body_schema(event, _REF.format(model=event.data.__name__))
        webhooks[event.name] = {"post": _webhook_operation(event, name)}

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "webhooks": webhooks,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                # Partner callbacks: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">, per agency.
                "signature": {"type": "apiKey", "in": "header", "name": SIGNATURE_HEADER},
            },
        },
    }
