"""The `partnerflow` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence
from datetime import timedelta

import structlog
from rich.console import Console

from domain.access import Role
from store.db import create_engine, sessionmaker
from store.migrate import upgrade
from store.staff import create_user
from store.tokens import issue_token, revoke_token
from workers import deployment_secrets, directory, geo, status
from workers.codec import keyring_from_settings
from workers.data_keys import rewrap_data_keys
from workers.embedded import (
    AlreadyRunning,
    StartupFailed,
    exclusive,
    make_var_private,
    run_embedded,
)
from workers.logs import configure_logging
from workers.serve import api_server, run_worker_until, stop_on_signals
from workers.settings import Settings
from workers.supervisor import Supervisor, worker_children
from workers.temporal import LazyTemporal, connect, data_key_engine, payload_codec

log = structlog.get_logger(__name__)


async def _migrate(settings: Settings) -> None:
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _worker(settings: Settings) -> None:
    stop = stop_on_signals()
    engine = create_engine(settings.resolved_database_url)
    keys = data_key_engine(settings)
    try:
        codec = payload_codec(settings, sessionmaker(keys))
        client = await connect(settings, codec, worker=True)
        await run_worker_until(client, settings, sessionmaker(engine), stop)
    finally:
        await engine.dispose()
        await keys.dispose()


async def _worker_pool(settings: Settings, processes: int) -> None:
    """Run ``processes`` worker processes, restarting any that dies, until SIGINT/SIGTERM."""
    stop = stop_on_signals()
    pool = Supervisor(worker_children(settings, processes))
    pool.start()
    try:
        await pool.watch(stop)
    finally:
        pool.stop()


def _run_worker(settings: Settings, processes: int | None) -> None:
    count = processes or settings.worker_processes or 1
    if count == 1:
        asyncio.run(_worker(settings))
    else:
        asyncio.run(_worker_pool(settings, count))


async def _api(settings: Settings) -> None:
    stop = stop_on_signals()
    engine = create_engine(settings.resolved_database_url)
    keys = data_key_engine(settings)
    try:
        codec = payload_codec(settings, sessionmaker(keys))
        temporal = LazyTemporal(settings, codec)
        async with api_server(settings, sessionmaker(engine), temporal, codec):
            await stop.wait()
    finally:
        await engine.dispose()
        await keys.dispose()


async def _token_create(settings: Settings, args: argparse.Namespace) -> None:
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        token_id, token = await issue_token(
            sessionmaker(engine),
            subject=args.subject,
            role=Role(args.role),
            agency_id=args.agency,
            valid_for=timedelta(days=args.days) if args.days else None,
        )
    finally:
        await engine.dispose()
    print(f"token id {token_id} for {args.subject} ({args.role}); shown once:")
    print(token)


async def _token_revoke(settings: Settings, args: argparse.Namespace) -> None:
    engine = create_engine(settings.resolved_database_url)
    try:
        revoked = await revoke_token(sessionmaker(engine), args.token_id)
    finally:
        await engine.dispose()
    if not revoked:
        raise SystemExit(f"no live token with id {args.token_id}")
    print(f"revoked {args.token_id}")


async def _user_create(settings: Settings, args: argparse.Namespace) -> None:
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        await create_user(
            sessionmaker(engine),
            username=args.username,
            password=password,
            role=Role(args.role),
            agency_id=args.agency,
            display_name=args.name,
        )
    finally:
        await engine.dispose()
    print(f"user {args.username} ({args.role}) can now sign in to the dashboard")


async def _rewrap_data_keys(settings: Settings) -> str:
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        keyring = keyring_from_settings(settings)
        rewrapped, current = await rewrap_data_keys(sessionmaker(engine), keyring)
    finally:
        await engine.dispose()
    return (
        f"{rewrapped} data keys re-wrapped with master key {keyring.active_id!r}; "
        f"{current} already were"
    )


def parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per process or task."""
    p = argparse.ArgumentParser(prog="partnerflow", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the whole embedded stack in the foreground")
    worker = sub.add_parser("worker", help="run Temporal workers against the configured cluster")
    worker.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="worker processes to run and supervise (default: PARTNERFLOW_WORKER_PROCESSES, "
        "else 1)",
    )
    sub.add_parser("api", help="serve the HTTP API")
    sub.add_parser("migrate", help="bring the app database to the newest schema")
    sub.add_parser("status", help="what is running, waiting, late or failing, as tables")
    token = sub.add_parser("token", help="manage API tokens").add_subparsers(
        dest="token_command", required=True
    )
    create = token.add_parser("create", help="issue a token (printed once)")
    create.add_argument("--subject", required=True, help="who the token is for")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--agency", help="agency id (agency users only)")
    create.add_argument("--days", type=int, help="valid for this many days (default: no expiry)")
    revoke = token.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("token_id")
    user = sub.add_parser("user", help="manage dashboard users").add_subparsers(
        dest="user_command", required=True
    )
    new_user = user.add_parser("create", help="add a staff user (asks for the password)")
    new_user.add_argument("--username", required=True)
    new_user.add_argument("--role", required=True, choices=[r.value for r in Role])
    new_user.add_argument("--agency", help="agency id (agency users only)")
    new_user.add_argument("--name", help="display name")
    new_user.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    sub.add_parser(
        "rewrap-data-keys",
        help="wrap every referral's data key with the active master key (after a rotation)",
    )
    directory.add_commands(sub)
    geo.add_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `partnerflow` console script."""
    args = parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings)
    try:
        match args.command:
            case "up":
                make_var_private(settings.var_dir)
                with exclusive(settings.var_dir):
                    asyncio.run(run_embedded(settings))
            case "worker":
                deployment_secrets.require(settings)
                if args.processes is not None and args.processes < 1:
                    raise ValueError("--processes must be at least 1")
                _run_worker(settings, args.processes)
            case "api":
                deployment_secrets.require(settings)
                asyncio.run(_api(settings))
            case "migrate":
                asyncio.run(_migrate(settings))
                print("database is up to date")
            case "status":
                status.render(asyncio.run(status.read(settings)), Console())
            case "token" if args.token_command == "create":  # noqa: S105
                asyncio.run(_token_create(settings, args))
            case "token":
                asyncio.run(_token_revoke(settings, args))
            case "user":
                asyncio.run(_user_create(settings, args))
            case "directory" if args.directory_command == "import":
                print(asyncio.run(directory.import_command(settings, args)))
            case "directory":
                print(asyncio.run(directory.export_command(settings, args)))
            case "geo":
                print(asyncio.run(geo.import_command(settings, args)))
            case "rewrap-data-keys":
                print(asyncio.run(_rewrap_data_keys(settings)))
    except (AlreadyRunning, StartupFailed) as exc:
        sys.stderr.write(f"partnerflow: {exc}\n")
        raise SystemExit(1) from None
    except ValueError as exc:
        sys.stderr.write(f"partnerflow: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
