"""Demonstration data for the embedded stack: a Tendring-like borough's service directory."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from domain.directory import Directory
from store.db import Sessions
from store.directory import directory_is_empty, save_directory

DIRECTORY_FILE = Path(__file__).with_name("directory.json")


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
