"""The codec endpoint: lets the Temporal UI show decrypted payloads to authorised staff only.

Protocol of Temporal's remote codec: POST ``/codec/decode`` (or ``/encode``) with
``{"payloads": [{"metadata": {k: base64}, "data": base64}]}`` and the same shape back.
The UI calls it from the browser, so it is served with CORS for the UI's origin.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Protocol, runtime_checkable

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from api.audit import audit_payload_decode
from api.http.routing import Call, RouteTable
from domain.access import Action, Role
from store.data_keys import StoredDataKey

routes = RouteTable("codec")


@runtime_checkable
class StaffCodec(Protocol):
    """A codec that opens referrals' sealed personal values only for those allowed them."""

    async def decode_for_staff(
        self, payloads: Sequence[Payload], *, reveal_values: bool
    ) -> tuple[list[Payload], set[str]]:
        """The payloads opened (values, or markers), and the referrals whose values they hold."""
        ...


CODEC = web.AppKey("codec", PayloadCodec)
CORS_ORIGINS = web.AppKey("cors_origins", frozenset[str])
PREFIX = "/codec/"


Base64Text = Annotated[
    str, Field(pattern=r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
]

MetadataKey = Annotated[str, Field(pattern=r"^[A-Za-z0-9._/-]{1,100}$")]


class CodecPayload(BaseModel):
    """One payload in Temporal's JSON form: metadata values and data in base64."""

    model_config = ConfigDict(extra="forbid")

    metadata: dict[MetadataKey, Base64Text] = Field(
        default_factory=dict,
        max_length=50,
        # pydantic states the key pattern as patternProperties; other keys are refused too.
        json_schema_extra={"additionalProperties": False},
    )
    data: Base64Text = ""


class CodecPayloads(BaseModel):
    """The body of a codec request and of its answer."""

    model_config = ConfigDict(extra="forbid")

    payloads: list[CodecPayload] = Field(max_length=1000)


@runtime_checkable
class DataKeyMaker(Protocol):
    """A codec that seals referrals' personal values with data keys made at intake."""

    def new_data_key(self, number: str) -> StoredDataKey | None:
        """A fresh wrapped data key for referral ``number``, to store with its intake."""
        ...


def new_data_key(app: web.Application, number: str) -> StoredDataKey | None:
    """The data key to store with a new referral, when this API's codec seals with them."""
    codec = app.get(CODEC)
    return codec.new_data_key(number) if isinstance(codec, DataKeyMaker) else None


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise web.HTTPBadRequest(reason=f"{what} is not valid base64") from None


def _to_proto(items: Iterable[CodecPayload]) -> list[Payload]:
    return [
        Payload(
            metadata={k: _b64(v, f"metadata {k!r}") for k, v in p.metadata.items()},
            data=_b64(p.data, "data"),
        )
        for p in items
    ]


def _from_proto(payloads: Iterable[Payload]) -> CodecPayloads:
    return CodecPayloads(
        payloads=[
            CodecPayload(
                metadata={k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                data=base64.b64encode(p.data).decode(),
            )
            for p in payloads
        ]
    )


def _codec(call: Call) -> PayloadCodec:
    codec = call.request.app.get(CODEC)
    if codec is None:
        raise web.HTTPServiceUnavailable(reason="payload encryption is not configured here")
    return codec


@routes.route(
    "POST",
    "/codec/decode",
    summary="Decrypt payloads for the Temporal UI",
    action=Action.DECODE_PAYLOADS,
    body=CodecPayloads,
    response=CodecPayloads,
    errors=(503,),
)
async def codec_decode(call: Call) -> CodecPayloads:
    """Decrypt workflow payloads so authorised staff can read them in the Temporal UI.

    A referral's personal and free-text values show to admins only; operations staff see
    ``[personal]`` in their place, and everyone ``[erased]`` once the data was erased. Every
    decode of a payload carrying such values is in the audit trail, with the referral.
    """
    codec = _codec(call)
    payloads = _to_proto(call.body_as(CodecPayloads).payloads)
    try:
        if not isinstance(codec, StaffCodec):
            return _from_proto(await codec.decode(payloads))
        user = call.user()
        reveal = user.role is Role.ADMIN
        opened, referrals = await codec.decode_for_staff(payloads, reveal_values=reveal)
    except ValueError as exc:
        raise web.HTTPBadRequest(reason=str(exc)) from None
    for number in sorted(referrals):
        await audit_payload_decode(call.request, user, number, revealed=reveal)
    return _from_proto(opened)


@routes.route(
    "POST",
    "/codec/encode",
    summary="Encrypt payloads for the Temporal UI",
    action=Action.DECODE_PAYLOADS,
    body=CodecPayloads,
    response=CodecPayloads,
    errors=(503,),
)
async def codec_encode(call: Call) -> CodecPayloads:
    """Encrypt payloads (the UI uses it when staff send a signal or update by hand)."""
    return _from_proto(await _codec(call).encode(_to_proto(call.body_as(CodecPayloads).payloads)))


def _cors_headers(origin: str) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type, X-Namespace",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


@web.middleware
async def codec_cors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Answer CORS preflights for the codec endpoint and label its responses for allowed origins."""
    origin = request.headers.get("Origin", "")
    allowed = request.path.startswith(PREFIX) and origin in request.app[CORS_ORIGINS]
    if request.method == "OPTIONS" and request.path.startswith(PREFIX):
        if not allowed:
            raise web.HTTPForbidden(reason="origin not allowed to use the codec endpoint")
        return web.Response(status=204, headers=_cors_headers(origin))
    response: web.StreamResponse = await handler(request)
    if allowed:
        response.headers.update(_cors_headers(origin))
    return response
