"""``partnerflow status``: the dashboard's overview as tables in a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from store.db import create_engine, sessionmaker
from store.overview import Overview, read_overview
from workers.settings import Settings


async def read(settings: Settings) -> Overview:
    """Read the overview from the configured database."""
    engine = create_engine(settings.resolved_database_url)
    try:
        return await read_overview(sessionmaker(engine))
    finally:
        await engine.dispose()


def render(overview: Overview, console: Console) -> None:
    """Print the overview: one table per concern, problems in red."""
    directory = Table(title="Service directory")
    directory.add_column("partner organisations", justify="right")
    directory.add_column("services taking referrals", justify="right")
    directory.add_column("services not taking referrals", justify="right")
    d = overview.directory
    directory.add_row(str(d.organisations), str(d.active), str(d.closed))
    console.print(directory)
    _partnerships(overview, console)
    style = "yellow" if overview.failed_sign_ins else "green"
    console.print(
        f"[{style}]{overview.failed_sign_ins} failed dashboard sign-ins in the last 24 hours."
        f"[/{style}]"
    )

    if not overview.failing_notifications:
        console.print("[green]Every notification was delivered.[/green]")
        return
    failing = Table(title="Failing notifications", title_style="bold red")
    for column in ("to", "about", "attempts", "last error", "since"):
        failing.add_column(column)
    for f in overview.failing_notifications:
        failing.add_row(
            f"{f.channel}: {f.recipient}",
            f.subject_ref or f.workflow_id,
            f"{f.attempts}{' (gave up)' if f.gave_up else ''}",
            f.last_error,
            f.since.strftime("%d %b %H:%M"),
            style="red" if f.gave_up else None,
        )
    console.print(failing)


def _partnerships(overview: Overview, console: Console) -> None:
    """Partnerships by stage, those overdue, and those with a reminder due this week."""
    pf = overview.partnerships
    stages = Table(title="Partnerships by stage")
    stages.add_column("stage")
    stages.add_column("partnerships", justify="right")
    for stage, count in sorted(pf.by_stage.items()):
        stages.add_row(stage, str(count))
    stages.add_row("overdue", str(pf.overdue_total), style="red" if pf.overdue_total else None)
    console.print(stages)
    for title, rows, style in (
        ("Overdue partnership actions", pf.overdue, "bold red"),
        ("Partnership reminders due this week", pf.due_this_week, None),
    ):
        if not rows:
            continue
        table = Table(title=title, title_style=style)
        for column in ("partnership", "name", "stage", "next reminder"):
            table.add_column(column)
        for p in rows:
            table.add_row(
                p.id,
                p.name,
                p.stage.value,
                p.next_deadline.strftime("%d %b %H:%M") if p.next_deadline else "-",
            )
        console.print(table)
