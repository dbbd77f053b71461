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
from temporalio.exceptions import ApplicationError

from clients.temporal import WorkflowGone, WorkflowRefused, update_partnership
from domain.partnership import RecordReferralOutcome, action_for
from domain.referral_records import FEED_PARTNERSHIPS, OutcomeFeed, OutcomeFeedResult
from store.db import Sessions
from store.outcome_feed import outcome_fact, partnerships_taking_actuals

FEED = action_for(RecordReferralOutcome)


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
            try:
                await update_partnership(
                    client,
                    partnership_id,
                    FEED,
                    RecordReferralOutcome(outcome=fact),
                    update_id=f"referral-outcome-{fact.outcome_id}",
                )
            except WorkflowRefused:
                continue  # none of its indicators counts it, or it already did
            except WorkflowGone:
                continue  # the partnership's workflow has ended
            counted.append(partnership_id)
        activity.logger.info("outcome of %s counted by %s", feed.leg_id, counted or "none")
        return OutcomeFeedResult(counted_by=counted)
