"""Export cells a spreadsheet shows as text and never runs (OWASP CSV injection)."""

from __future__ import annotations

import uuid

import pytest

from domain.oruk.tabular import feed_from_tables, tables_from_records
from domain.spreadsheet import number_cell, read_text_cell, text_cell

FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", FORMULAS)
def test_formula_like_text_gets_an_apostrophe_and_reads_back(value: str) -> None:
    cell = text_cell(value)
    assert cell == "'" + value
    assert read_text_cell(cell) == value


@pytest.mark.parametrize("value", ["Tendring CAB", "", "'quoted", "1-2", "a=b", "12"])
def test_ordinary_text_is_left_alone(value: str) -> None:
    assert text_cell(value) == value
    assert read_text_cell(value) == value


def test_none_is_an_empty_cell() -> None:
    assert text_cell(None) == number_cell(None) == ""


@pytest.mark.parametrize(("value", "cell"), [(-1.15, "-1.15"), (-3, "-3"), ("-0.5", "-0.5")])
def test_numbers_keep_their_sign(value: object, cell: str) -> None:
    assert number_cell(value) == cell


@pytest.mark.parametrize("value", ["-1+cmd", "=1", float("-inf"), "-nan", True])
def test_a_number_column_holding_no_number_is_written_as_text(value: object) -> None:
    assert not number_cell(value).startswith(("=", "-", "+", "@"))


def test_oruk_tables_escape_text_columns_but_not_number_columns() -> None:
    org_id, svc_id, loc_id = (str(uuid.uuid4()) for _ in range(3))
    service = {
        "id": svc_id,
        "organization_id": org_id,
        "name": '=HYPERLINK("http://evil.example","x")',
        "status": "active",
        "description": "-5 off",
        "service_at_locations": [
            {
                "id": str(uuid.uuid4()),
                "location": {
                    "id": loc_id,
                    "location_type": "physical",
                    "name": "@home",
                    "latitude": -33.9,
                    "longitude": -1.15,
                },
            }
        ],
    }
    organisation = {"id": org_id, "name": "+Org", "description": "d"}
    tables = tables_from_records([service], [organisation], [])
    (svc_row,) = tables["services.csv"]
    assert svc_row["name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert svc_row["description"] == "'-5 off"
    (loc_row,) = tables["locations.csv"]
    assert (loc_row["latitude"], loc_row["longitude"]) == ("-33.9", "-1.15")
    assert loc_row["name"] == "'@home"
    assert tables["organizations.csv"][0]["name"] == "'+Org"

    feed = feed_from_tables(tables)
    (back,) = feed.services
    assert back["name"] == service["name"]
    assert back["description"] == "-5 off"
    location = back["service_at_locations"][0]["location"]
    assert (location["name"], location["longitude"]) == ("@home", -1.15)
