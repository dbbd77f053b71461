"""Typed application state shared by the API's feature modules."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web
from temporalio.client import Client

from store.db import Sessions


class TemporalLink(Protocol):
    """How the API reaches Temporal: connects on first use, so the API can start before it."""

    async def client(self) -> Client:
        """The connected client; raises if Temporal cannot be reached."""
        ...


SESSIONS = web.AppKey("sessions", Sessions)
TEMPORAL = web.AppKey("temporal", TemporalLink)
TASK_QUEUE = web.AppKey("task_queue", str)
