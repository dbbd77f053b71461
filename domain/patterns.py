"""Text patterns that mean the same to every reader of the published schema.

Each pattern here is both the validator's (pydantic, which runs it with Rust's regex engine)
and the OpenAPI schema's (JSON Schema patterns are ECMA-262 regular expressions, as
schemathesis and client generators read them). Class escapes differ between those dialects:
``\\s`` is whitespace in all three but not the same whitespace (U+0085 is whitespace to Rust
and Python, not to ECMA-262; U+FEFF the other way round), ``\\d`` and ``\\w`` are Unicode in
Python. So these patterns name the characters they mean, with ``\\xHH``/``\\uHHHH`` escapes that
all three read alike, and never use ``\\s``, ``\\d``, ``\\w`` or ``\\b``.
"""

from __future__ import annotations

# Invisible characters: controls (C0, DEL, C1 with U+0085) and every character that any of
# the three dialects counts as whitespace (their union), zero-width space and BOM included.
BLANK = r"\x00-\x20\x7f-\xa0\u1680\u180e\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
EMAIL = rf"^[^@{BLANK}]+@[^@{BLANK}]+$"
"""An email address as we accept it: something, ``@``, something, no blanks anywhere."""
NOT_BLANK = rf"[^{BLANK}]"
"""Text with at least one visible character."""
DIALECT_DEPENDENT = (r"\s", r"\S", r"\d", r"\D", r"\w", r"\W", r"\b", r"\B")
"""Escapes a published pattern must not use (see above)."""
