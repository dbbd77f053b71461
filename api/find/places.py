"""Where a visitor means: a postcode resolved through the postcode table, or an area's name."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from api.http.state import SESSIONS
from domain.find import Place
from domain.oruk.mapping import OrukMapping
from domain.postcodes import normalise_postcode
from store.geo import find_postcode
from store.oruk import get_mapping


@dataclass(frozen=True)
class PlaceProblem:
    """Why a place could not be found, in words for the visitor."""

    message: str


UNKNOWN_POSTCODE = (
    "We could not find that postcode. It may be outside the area we cover: check it, or enter "
    "the name of your area, like Pier or Walton"
)
NOT_A_PLACE = "Enter a postcode, like CO15 6JQ, or the name of your area, like Pier or Walton"


async def postcode_place(
    app: web.Application, postcode: str, mapping: OrukMapping | None = None
) -> Place | None:
    """Where a written postcode is: its point and ward from the postcode table (its sector's
    when the postcode itself is not listed); None when the table knows neither."""
    mapping = mapping or await get_mapping(app[SESSIONS])
    point = await find_postcode(app[SESSIONS], postcode)
    if point is None:
        return None
    ward = (
        mapping.ward_for_area(point.ward_name) if point.ward_name else None
    ) or mapping.ward_for_postcode(postcode)
    return Place(label=postcode, ward=ward, latitude=point.latitude, longitude=point.longitude)


async def resolve_place(app: web.Application, text: str) -> Place | PlaceProblem:
    """A place for ``text``: a known postcode (its ward and point) or a ward's name."""
    mapping = await get_mapping(app[SESSIONS])
    postcode = normalise_postcode(text)
    if postcode is not None:
        place = await postcode_place(app, postcode, mapping)
        return place if place is not None else PlaceProblem(UNKNOWN_POSTCODE)
    ward = mapping.ward_for_area(text)
    if ward is None:
        return PlaceProblem(NOT_A_PLACE)
    return Place(label=mapping.ward_name(ward), ward=ward)


async def ward_names(app: web.Application) -> dict[str, str]:
    """Ward id → name, for showing where services work."""
    mapping = await get_mapping(app[SESSIONS])
    return {w.id: w.name for w in mapping.wards}
