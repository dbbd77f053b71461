"""Typed application state shared by the API's feature modules."""

from __future__ import annotations

from aiohttp import web

from clients.temporal import TemporalLink
from store.db import Sessions

__all__ = ["SESSIONS", "TASK_QUEUE", "TEMPORAL", "TemporalLink"]


SESSIONS = web.AppKey("sessions", Sessions)
TEMPORAL = web.AppKey("temporal", TemporalLink)
TASK_QUEUE = web.AppKey("task_queue", str)
