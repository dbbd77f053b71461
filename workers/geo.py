"""`partnerflow geo import FILE`: load the ONS National Statistics Postcode Lookup (or part)."""

from __future__ import annotations

import argparse
import csv
from collections.abc import Iterator
from pathlib import Path

from domain.postcodes import PostcodePoint, point_from_row, ward_names_from_rows
from store.db import create_engine, sessionmaker
from store.geo import save_postcodes
from store.migrate import upgrade
from workers.settings import Settings


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `geo` subcommands."""
    geo = sub.add_parser("geo", help="the postcode table the public website resolves places with")
    commands = geo.add_subparsers(dest="geo_command", required=True)
    imp = commands.add_parser(
        "import", help="load postcodes from an NSPL CSV (the full file or the area's rows)"
    )
    imp.add_argument("file", metavar="FILE", type=Path)
    imp.add_argument(
        "--ward-names", type=Path, help="ONS ward names CSV (WD24CD,WD24NM) for the ward codes"
    )
    imp.add_argument(
        "--area",
        action="append",
        default=[],
        help="keep only postcodes starting with this (e.g. CO15); repeatable",
    )


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            yield {k.strip().lower(): (v or "") for k, v in row.items() if k}


def _points(path: Path, names: dict[str, str], areas: list[str]) -> Iterator[PostcodePoint]:
    prefixes = tuple(a.strip().upper() for a in areas)
    for row in _rows(path):
        point = point_from_row(row, names)
        if point is not None and (not prefixes or point.postcode.startswith(prefixes)):
            yield point


async def import_command(settings: Settings, args: argparse.Namespace) -> str:
    """Load the file into the postcode table; what was loaded, in words."""
    if not args.file.is_file():
        raise ValueError(f"no such file: {args.file}")
    names = ward_names_from_rows(list(_rows(args.ward_names))) if args.ward_names else {}
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        written = await save_postcodes(sessionmaker(engine), _points(args.file, names, args.area))
    finally:
        await engine.dispose()
    return f"{written} postcodes loaded from {args.file}"
