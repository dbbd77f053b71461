"""The referral worker's parts for tests that run, stop and restart workers themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from activities.notify import Notifier, NotifierConfig
from store.db import Sessions
from store.directory import save_directory
from tests.helpers.referral_world import directory, referral_activities_with
from tests.helpers.sinks import WEBHOOK_SECRET


async def load_directory(sessions: Sessions, webhook_url: str) -> None:
    """The small borough of the referral tests, its CAB service posting to ``webhook_url``."""
    async with sessions.begin() as session:
        await save_directory(session, directory(webhook_url))


def referral_activities(
    sessions: Sessions, smtp_port: int, *, webhook_timeout_seconds: float = 10.0
) -> list[Callable[..., Any]]:
    """Every activity the referral workflows call, sending to the given sinks."""
    notifier = Notifier(
        NotifierConfig(
            smtp_port=smtp_port,
            webhook_secrets=(WEBHOOK_SECRET,),
            sender="pf@test",
            webhook_timeout_seconds=webhook_timeout_seconds,
        ),
        sessions,
    )
    return referral_activities_with(sessions, notifier)
