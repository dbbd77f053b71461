"""An outcome's note (the agency's words, erased with the resident's data); each decline's
reason from the list on its leg, for the agencies' declines by reason.

Legs declined before the reason was kept on the leg get it from their decline event's words,
which start with the reason's words ("no capacity now: ..."); words that do not (declines
from before there was a list, or erased) count as other.

Revision ID: 0192_outcome_notes_declines
Revises: 0190_spent_links
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0192_outcome_notes_declines"
down_revision: str | Sequence[str] | None = "0190_spent_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWERS_INDEX = "ix_referral_legs_agency_id_answers"
ANSWERS_BEFORE = ["agency_id", "state", "answer", "answered_late", "offer_lost"]
# The reasons' words as decline events wrote them when this revision was made.
DECLINE_WORDS = {
    "no capacity now": "no_capacity",
    "not eligible": "not_eligible",
    "could not contact the resident": "cannot_contact",
    "the resident declined": "resident_declined",
    "better served elsewhere": "better_served_elsewhere",
}


def upgrade() -> None:
    with op.batch_alter_table("referral_outcomes") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
    with op.batch_alter_table("referral_legs") as batch:
        batch.add_column(sa.Column("decline_why", sa.String(32), nullable=True))
    op.drop_index(ANSWERS_INDEX, table_name="referral_legs")
    op.create_index(ANSWERS_INDEX, "referral_legs", [*ANSWERS_BEFORE, "decline_why"])
    _backfill()


def reason_of(words: str) -> str:
    """The reason a decline event's words name (other when they name none)."""
    for head, why in DECLINE_WORDS.items():
        if words == head or words.startswith((f"{head}: ", f"{head} (")):
            return why
    return "other"


def _backfill() -> None:
    bind = op.get_bind()
    legs = sa.table(
        "referral_legs",
        sa.column("leg_id", sa.String),
        sa.column("state", sa.String),
        sa.column("answer", sa.String),
        sa.column("decline_why", sa.String),
    )
    events = sa.table(
        "referral_events",
        sa.column("leg_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("detail", sa.Text),
    )
    declined = bind.execute(
        sa.select(legs.c.leg_id).where(
            sa.or_(legs.c.answer == "declined", legs.c.state == "declined")
        )
    ).scalars()
    words: dict[str, str] = {}
    for leg_id, detail in bind.execute(
        sa.select(events.c.leg_id, events.c.detail)
        .where(events.c.kind == "declined")
        .order_by(events.c.at)
    ).all():
        words.setdefault(leg_id, detail or "")
    for leg_id in list(declined):
        bind.execute(
            legs.update()
            .where(legs.c.leg_id == leg_id)
            .values(decline_why=reason_of(words.get(leg_id, "")))
        )


def downgrade() -> None:
    op.drop_index(ANSWERS_INDEX, table_name="referral_legs")
    op.create_index(ANSWERS_INDEX, "referral_legs", ANSWERS_BEFORE)
    with op.batch_alter_table("referral_legs") as batch:
        batch.drop_column("decline_why")
    with op.batch_alter_table("referral_outcomes") as batch:
        batch.drop_column("note")
