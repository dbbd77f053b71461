"""Demonstration data for the embedded stack: a Tendring-like borough's service directory."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pydantic import BaseModel

from domain.directory import Directory
from domain.postcodes import PostcodePoint, point_from_row
from store.db import Sessions
from store.directory import directory_is_empty, save_directory
from store.geo import postcode_count, save_postcodes

DIRECTORY_FILE = Path(__file__).with_name("directory.json")
POSTCODE_SECTORS_FILE = Path(__file__).with_name("postcode_sectors.csv")


class Ward(BaseModel):
    """A ward of the demonstration borough."""

    id: str
    name: str


def demo_directory() -> Directory:
    """The shipped demonstration directory."""
    raw = json.loads(DIRECTORY_FILE.read_text())
    return Directory(organisations=raw["organisations"], services=raw["services"])


def demo_wards() -> list[Ward]:
    """The wards the demonstration directory's areas refer to."""
    return [Ward.model_validate(w) for w in json.loads(DIRECTORY_FILE.read_text())["wards"]]


async def load_demo_directory(sessions: Sessions) -> bool:
    """Load the demonstration directory into an empty store; False if one was there already."""
    if not await directory_is_empty(sessions):
        return False
    async with sessions.begin() as session:
        await save_directory(session, demo_directory())
    return True


def demo_postcode_sectors() -> list[PostcodePoint]:
    """The demonstration borough's postcode sectors (``CO15 6``...), as NSPL-shaped rows."""
    with POSTCODE_SECTORS_FILE.open(newline="") as f:
        rows = [{k.lower(): v for k, v in row.items()} for row in csv.DictReader(f)]
    return [p for p in (point_from_row(row, {}) for row in rows) if p is not None]


async def load_demo_postcodes(sessions: Sessions) -> bool:
    """Load the demonstration sectors into an empty postcode table; False if it had some."""
    if await postcode_count(sessions):
        return False
    await save_postcodes(sessions, demo_postcode_sectors())
    return True
