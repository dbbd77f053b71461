"""Numbers as the published schema means them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator


def _integral(value: object) -> object:
    # JSON Schema counts 2.0 as an integer; strict mode alone would refuse it.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


AS_WHOLE = BeforeValidator(_integral)
"""Reads 2.0 as 2. Put bounds before it (``Annotated[int, Field(ge=1), AS_WHOLE]``) so the
schema states them of the number, also where the number may be null."""
Whole = Annotated[int, AS_WHOLE]
"""A whole number: 2 or 2.0, never true or "2"."""
