"""The shared offline copy of the ORUK and HSDS 3.0 material the tests read (never the product)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The published ORUK files, in the shared folder beside the checkout (../shared/oruk).
ORUK = Path(__file__).resolve().parents[3] / "shared" / "oruk"
EXAMPLE = ORUK / "uk-profile/examples/service_full.json"
EXAMPLE_ID = "ac148810-d857-441c-9679-408f346de14b"


def load(rel: str) -> Any:
    """One JSON file of the shared copy, by path relative to it."""
    return json.loads((ORUK / rel).read_text())


def example_service() -> dict[str, Any]:
    """A fresh copy of the official ORUK full service example."""
    doc: dict[str, Any] = load("uk-profile/examples/service_full.json")
    return doc
