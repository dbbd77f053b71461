"""UK postcodes: their written form, their sector, and rows of the ONS postcode lookup.

The National Statistics Postcode Lookup (NSPL) is a CSV with one row per postcode: ``pcds``
(the postcode as written), ``lat``, ``long`` and the ward's code (``osward``, or ``wd24cd``
and the like in some editions), with the ward's name in a separate names file. A row with no
point (ONS writes latitude 99.999999 for postcodes it cannot place) is skipped.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9])([A-Z]{2})$")
_SECTOR = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ([0-9])$")
_WARD_CODE_COLUMNS = ("osward", "wd25cd", "wd24cd", "wd23cd", "wd22cd", "ward_code", "ward")
_WARD_NAME_COLUMNS = ("osward_name", "wd25nm", "wd24nm", "wd23nm", "ward_name", "wardname")


class PostcodePoint(BaseModel):
    """A postcode (or sector) with its point and ward."""

    model_config = ConfigDict(frozen=True)

    postcode: str = Field(min_length=3, max_length=8)
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    ward_code: str | None = None
    ward_name: str | None = None


def normalise_postcode(text: str) -> str | None:
    """``"co156jq"`` → ``"CO15 6JQ"``; None when it is not a UK postcode."""
    squeezed = re.sub(r"\s+", "", text.upper())
    match = _POSTCODE.fullmatch(squeezed[:-3] + " " + squeezed[-3:]) if len(squeezed) > 4 else None
    return f"{match[1]} {match[2]}{match[3]}" if match else None


def sector_of(postcode: str) -> str:
    """The sector of a written postcode: ``"CO15 6JQ"`` → ``"CO15 6"``."""
    return postcode[:-2]


def is_sector(text: str) -> bool:
    """Whether ``text`` is a written sector such as ``CO15 6``."""
    return _SECTOR.fullmatch(text) is not None


def point_from_row(row: dict[str, str], ward_names: dict[str, str]) -> PostcodePoint | None:
    """The point of one NSPL CSV row (columns by lower-case name); None for unplaced rows."""
    written = row.get("pcds") or row.get("postcode") or row.get("pcd") or ""
    postcode = normalise_postcode(written)
    if postcode is None and is_sector(written.strip().upper()):
        postcode = written.strip().upper()
    try:
        latitude, longitude = float(row.get("lat", "")), float(row.get("long", ""))
    except ValueError:
        return None
    if postcode is None or not (-90 <= latitude <= 90) or not (-180 <= longitude <= 180):
        return None
    code = next((row[c].strip() for c in _WARD_CODE_COLUMNS if row.get(c, "").strip()), None)
    name = next((row[c].strip() for c in _WARD_NAME_COLUMNS if row.get(c, "").strip()), None)
    if name is None and code is not None:
        name = ward_names.get(code)
    return PostcodePoint(
        postcode=postcode, latitude=latitude, longitude=longitude, ward_code=code, ward_name=name
    )


def ward_names_from_rows(rows: list[dict[str, str]]) -> dict[str, str]:
    """Ward code → name from an ONS ward names file (``WD24CD,WD24NM`` or the like)."""
    names: dict[str, str] = {}
    for row in rows:
        code = next((v for k, v in row.items() if k.endswith("cd") and v), None)
        name = next((v for k, v in row.items() if k.endswith("nm") and v), None)
        if code and name:
            names[code.strip()] = name.strip()
    return names
