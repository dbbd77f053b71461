"""Structured logging: console lines in a terminal, one JSON object per line otherwise."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from workers.settings import LogFormat, Settings


def _temporal_context(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    # workflow.logger / activity.logger put their ids in a `temporal_*` extra; lift them up.
    record = event.get("_record")
    if record is not None:
        for attr in ("temporal_workflow", "temporal_activity"):
            details = getattr(record, attr, None)
            if isinstance(details, dict):
                for key in ("workflow_id", "run_id", "workflow_type", "activity_type"):
                    if key in details:
                        event.setdefault(key, details[key])
    return event


def configure_logging(settings: Settings) -> None:
    """Route structlog and the standard library (Temporal SDK, aiohttp) through one renderer."""
    fmt = settings.log_format
    if fmt is LogFormat.AUTO:
        fmt = LogFormat.CONSOLE if sys.stderr.isatty() else LogFormat.JSON
    renderer: Any = (
        structlog.dev.ConsoleRenderer()
        if fmt is LogFormat.CONSOLE
        else structlog.processors.JSONRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _temporal_context],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
