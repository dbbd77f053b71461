"""`partnerflow directory import|export`: ORUK feeds in, ORUK CSV tables out."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
from pathlib import Path

from activities.directory_sync import read_source
from clients.temporal import start_rerouting
from domain.oruk.export import organisation_record, service_record, taxonomy_records
from domain.oruk.importing import oruk_id
from domain.oruk.tabular import datapackage, tables_from_records
from store.db import create_engine, sessionmaker
from store.migrate import upgrade
from store.oruk import ImportReport, directory_snapshot, import_feed
from workers.private_files import open_private_text, private_folder, write_private
from workers.settings import Settings
from workers.temporal import connect


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `directory` subcommands."""
    directory = sub.add_parser("directory", help="import and export the service directory (ORUK)")
    commands = directory.add_subparsers(dest="directory_command", required=True)
    imp = commands.add_parser(
        "import", help="import an ORUK feed: URL, JSON file, or folder of ORUK CSV tables"
    )
    imp.add_argument("feed", metavar="PATH|URL")
    imp.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    imp.add_argument(
        "--full",
        action="store_true",
        help="the feed lists every service of its source: services missing from it are withdrawn",
    )
    imp.add_argument("--source", help="name of the feed (default: the PATH|URL as given)")
    exp = commands.add_parser("export", help="write the directory as ORUK CSV tables")
    exp.add_argument("folder", metavar="DIR")


def render(report: ImportReport) -> str:
    """The import report as a few readable lines."""
    head = "dry run, nothing written" if report.dry_run else "imported"
    outcomes = {
        o: sum(1 for p in report.problems if p.outcome == o)
        for o in ("refused", "dropped", "noted")
    }
    lines = [
        f"{report.source}: {head}",
        f"  services: {len(report.created)} new, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged; organisations written: {report.organisations}",
        f"  problems: {outcomes['refused']} refused, {outcomes['dropped']} dropped, "
        f"{outcomes['noted']} noted",
    ]
    lines += [f"  withdrawn {w.service_id}: {w.reason}" for w in report.withdrawn]
    lines += [f"  - {p}" for p in report.problems]
    return "\n".join(lines)


async def import_command(settings: Settings, args: argparse.Namespace) -> str:
    """Import a feed; services it withdraws are handed to a sync run that re-routes referrals."""
    feed = await read_source(args.feed)
    source = args.source or args.feed
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        sessions = sessionmaker(engine)
        client = None
        if not args.dry_run:
            preview = await import_feed(sessions, feed, source=source, full=args.full, dry_run=True)
            if preview.withdrawn:
                # Connect before writing: withdrawn services must reach their referrals.
                try:
                    client = await connect(settings)
                except Exception as exc:
                    raise ValueError(
                        f"the import would withdraw {len(preview.withdrawn)} service(s) but "
                        f"Temporal at {settings.temporal_address} is unreachable ({exc}); "
                        "nothing was written"
                    ) from None
        report = await import_feed(
            sessions, feed, source=source, full=args.full, dry_run=args.dry_run
        )
    finally:
        await engine.dispose()
    out = render(report)
    if client is not None and report.withdrawn:
        workflow_id = await start_rerouting(client, settings.temporal_task_queue, report.withdrawn)
        out += f"\n  open referrals are being re-routed by workflow {workflow_id}"
    return out


def _write_tables(folder: Path, tables: dict[str, list[dict[str, str]]]) -> None:
    # A folder we create is the owner's only; one given that exists keeps its mode.
    if not folder.exists():
        private_folder(folder)
    for name, rows in tables.items():
        resource = next(r for r in datapackage()["resources"] if r["path"] == name)
        with open_private_text(folder / name) as f:
            writer = csv.DictWriter(
                f, fieldnames=[fd["name"] for fd in resource["schema"]["fields"]]
            )
            writer.writeheader()
            writer.writerows(rows)
    write_private(folder / "datapackage.json", json.dumps(datapackage(), indent=1))


async def export_command(settings: Settings, args: argparse.Namespace) -> str:
    """Write every table of ORUK's datapackage for the whole directory."""
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        snap = await directory_snapshot(sessionmaker(engine))
    finally:
        await engine.dispose()
    orgs = {o.id: o for o in snap.directory.organisations}
    services = [
        service_record(s, orgs[s.organisation_id], snap.mapping, snap.last_modified.get(s.id))
        for s in snap.directory.services
    ]
    phones = {oruk_id(s.id): s.phone for s in snap.directory.services if s.phone}
    tables = tables_from_records(
        services,
        [organisation_record(o) for o in snap.directory.organisations],
        taxonomy_records(),
        phones,
    )
    folder = Path(args.folder)
    await asyncio.to_thread(_write_tables, folder, tables)
    return f"wrote {len(tables)} ORUK tables ({len(services)} services) to {folder}"
