"""Text that ends up in an email header (names, titles) must stay on one line.

A line break in a header value makes the message unsendable, so the API refuses one in any
field typed :data:`OneLine`. The check runs only where the API validates a request (it sets
the :data:`EDGE_CONTEXT` validation context): values stored or carried in workflow histories
before the rule existed still load, and the mail activity turns their breaks into spaces.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

EDGE_CONTEXT = "edge"
"""Validation context key the API sets on request bodies."""


def one_line(value: str, info: ValidationInfo) -> str:
    """``value``, refused at the API when it holds a CR or LF."""
    if info.context and info.context.get(EDGE_CONTEXT) and ("\r" in value or "\n" in value):
        raise ValueError("must be on one line: no line breaks (CR or LF)")
    return value


ONE_LINE_PATTERN = r"^[^\r\n]*$"
OneLine = Annotated[
    str, AfterValidator(one_line), Field(json_schema_extra={"pattern": ONE_LINE_PATTERN})
]
"""A string refused at the API when it holds a line break (its JSON schema says so too)."""


def header_text(value: str) -> str:
    """``value`` made safe for an email header: every line break or control character becomes
    a space, so no stored value can make a notice unsendable."""
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())
