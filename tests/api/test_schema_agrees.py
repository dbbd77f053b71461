"""The published schema and the validators accept exactly the same text.

JSON Schema patterns are ECMA-262 regular expressions (``jsonschema_rs`` checks them so, as
schemathesis does); the validators run the same patterns in pydantic. Every character that
any of the dialects treats specially is tried in every published pattern.
"""

from __future__ import annotations

from typing import Annotated, Any

import jsonschema_rs
import pytest
from aiohttp.test_utils import TestClient
from pydantic import Field, TypeAdapter, ValidationError

from api.referrals.legs import DeclineRequest
from domain.partnership import Email
from domain.patterns import DIALECT_DEPENDENT

# Controls, and every whitespace of Python, Rust and ECMA-262, and some letters beyond.
CHARACTERS = [chr(c) for c in (*range(0, 0x3001), 0xFEFF, 0x1F600)]


def published_patterns(doc: Any) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            pattern = node.get("pattern")
            if isinstance(pattern, str):
                found.add(pattern)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return found


async def test_no_published_pattern_depends_on_the_regex_dialect(api: TestClient) -> None:
    patterns = published_patterns(await (await api.get("/api/openapi.json")).json())
    assert patterns
    for pattern in patterns:
        assert not [e for e in DIALECT_DEPENDENT if e in pattern.replace("\\\\", "")], pattern


async def test_every_published_pattern_matches_alike_in_ecma_262_and_the_validators(
    api: TestClient,
) -> None:
    for pattern in published_patterns(await (await api.get("/api/openapi.json")).json()):
        ecma = jsonschema_rs.validator_for({"type": "string", "pattern": pattern})
        validator: TypeAdapter[str] = TypeAdapter(Annotated[str, Field(pattern=pattern)])
        for ch in CHARACTERS:
            for text in (ch, f"a{ch}b@c.d", f"ab@c{ch}d", "ab@cd" + ch):
                agree = ecma.is_valid(text) == _accepts(validator, text)
                assert agree, (pattern, hex(ord(ch)), text)


def _accepts(adapter: TypeAdapter[Any], value: Any) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("adapter", "shape"),
    [
        (TypeAdapter(Email), "a{}b@c.d"),
        (TypeAdapter(DeclineRequest), None),
    ],
    ids=["email", "reason"],
)
def test_validators_accept_what_the_schema_accepts(adapter: TypeAdapter[Any], shape: str) -> None:
    schema = adapter.json_schema()
    ecma = jsonschema_rs.validator_for(schema)
    for ch in CHARACTERS:
        value: Any = shape.format(ch) if shape else {"reason": ch}
        assert _accepts(adapter, value) == ecma.is_valid(value), hex(ord(ch))


def test_the_issue_s_email_with_u0085_is_refused_by_both() -> None:
    adapter = TypeAdapter(Email)
    ecma = jsonschema_rs.validator_for(adapter.json_schema())
    assert not ecma.is_valid("a\x85b@example.org")
    assert not _accepts(adapter, "a\x85b@example.org")
