"""Cells that spreadsheets show as text, never run as formulas (OWASP CSV injection).

A spreadsheet opening a CSV file treats a cell starting with ``=``, ``+``, ``-``, ``@``, tab
or carriage return as a formula, so a referral note or a token subject such as
``=HYPERLINK("http://evil.example","x")`` would become a live link or worse. Every export
writes user-supplied text through :func:`text_cell`, which puts an apostrophe in front of
such a cell (spreadsheets hide it and show the text); :func:`number_cell` keeps a real number
(``-12.5``) a number. :func:`read_text_cell` undoes the prefix, so our own exports import
back unchanged.
"""

from __future__ import annotations

import math
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"


def text_cell(value: Any) -> str:
    """A value as a CSV cell that a spreadsheet shows as text (``None`` is empty)."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return ESCAPE + text
    return text


def number_cell(value: Any) -> str:
    """A cell of a number column: a finite number stays as written (``-3`` is a number to a
    spreadsheet, not a formula); anything else is written as text."""
    if isinstance(value, bool) or value is None:
        return text_cell(value)
    if isinstance(value, int | float):
        return str(value) if math.isfinite(value) else text_cell(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text_cell(value)
    return text if math.isfinite(number) and text == str(value) else text_cell(value)


def read_text_cell(cell: str) -> str:
    """A text cell as it was before :func:`text_cell` escaped it."""
    if cell.startswith(ESCAPE) and cell[1:].startswith(FORMULA_TRIGGERS):
        return cell[1:]
    return cell
