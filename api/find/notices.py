"""Starting residents' emails (confirmation, shortlist) as their own small workflows."""

from __future__ import annotations

import structlog
from aiohttp import web
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api.state import TASK_QUEUE, TEMPORAL
from domain.resident_notice import (
    RESIDENT_NOTICE_WORKFLOW,
    ResidentNotice,
    ResidentNoticeKind,
    ResidentNoticeResult,
    resident_notice_id,
)

log = structlog.get_logger(__name__)


async def start_resident_notice(app: web.Application, kind: str, ref: str) -> bool:
    """Start the email's workflow (once per notice); False when Temporal cannot take it."""
    notice = ResidentNotice(kind=ResidentNoticeKind(kind), ref=ref)
    try:
        client = await app[TEMPORAL].client()
        await client.start_workflow(
            RESIDENT_NOTICE_WORKFLOW,
            notice,
            id=resident_notice_id(notice),
            task_queue=app[TASK_QUEUE],
            result_type=ResidentNoticeResult,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        return True
    except Exception as exc:
        log.warning("resident notice not started", kind=kind, error=repr(exc))
        return False
    return True
