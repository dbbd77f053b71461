"""Feed a recorded referral outcome to the partnerships whose indicators are bound to such
outcomes.

Each partnership in Implement or Review is offered the outcome as a ``record_referral_outcome``
Update, with an Update id derived from the outcome: a retry within the same run is answered
by Temporal from the first delivery, and a partnership's own rule refuses an outcome it
already counted (a refused Update leaves no trace in its history), so an outcome never
counts twice, whatever is retried or replayed.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.partnership import RecordReferralOutcome
from domain.referral_records import FEED_PARTNERSHIPS, OutcomeFeed, OutcomeFeedResult
from store.db import Sessions
from store.outcome_feed import outcome_fact, partnerships_taking_actuals
from workflows.partnership import PartnershipWorkflow


def partnership_workflow_id(partnership_id: str) -> str:
    """The id of a partnership's workflow."""
    return f"partnership-{partnership_id}"


class OutcomeFeeder:
    """Offers recorded referral outcomes to partnerships."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @activity.defn(name=FEED_PARTNERSHIPS)
    async def feed_partnerships(self, feed: OutcomeFeed) -> OutcomeFeedResult:
        """Offer the leg's outcome to every partnership taking actuals; which counted it."""
        fact = await outcome_fact(self._sessions, feed.leg_id)
        if fact is None:
            raise ApplicationError(f"no outcome recorded for {feed.leg_id}", non_retryable=True)
        client = activity.client()
        counted = []
        for partnership_id in await partnerships_taking_actuals(self._sessions):
            handle = client.get_workflow_handle(partnership_workflow_id(partnership_id))
            try:
                await handle.execute_update(
                    PartnershipWorkflow.record_referral_outcome,
                    RecordReferralOutcome(outcome=fact),
                    id=f"referral-outcome-{fact.outcome_id}",
                )
            except WorkflowUpdateFailedError:
                continue  # refused: none of its indicators counts it, or it already did
            except RPCError as error:
                if error.status is RPCStatusCode.NOT_FOUND:
                    continue  # the partnership's workflow has ended
                raise
            counted.append(partnership_id)
        activity.logger.info("outcome of %s counted by %s", feed.leg_id, counted or "none")
        return OutcomeFeedResult(counted_by=counted)
