"""Fixtures for unit tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The loosest umask, under which every file would be created world-writable."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)
