"""When and how each leg was first answered, for the agencies' statistics; indexes for the
overview and worklists at borough scale.

Revision ID: 0140
Revises: 0150
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from domain.agency_stats import answer_working_days, answered_late

revision: str = "0140"
down_revision: str | Sequence[str] | None = "0150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    (
        "ix_referral_legs_agency_id_answers",
        "referral_legs",
        ["agency_id", "state", "answer", "answered_late"],
    ),
    (
        "ix_referral_legs_agency_id_answer_days",
        "referral_legs",
        ["agency_id", "answer_working_days"],
    ),
    ("ix_referral_legs_answered_at_days", "referral_legs", ["answered_at", "answer_working_days"]),
    (
        "ix_referral_legs_agency_id_answered_at",
        "referral_legs",
        ["agency_id", "answered_at", "answer_working_days"],
    ),
    ("ix_referral_legs_agency_id_updated_at", "referral_legs", ["agency_id", "updated_at"]),
    (
        "ix_referral_legs_state_agency_id",
        "referral_legs",
        ["state", "agency_id", "deadline", "breached", "sent_at", "answered_at", "escalated_at"],
    ),
    ("ix_referrals_created_at_source", "referrals", ["created_at", "source"]),
]


def upgrade() -> None:
    with op.batch_alter_table("referral_legs") as batch:
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("answer", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("answer_working_days", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("answered_late", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    _backfill()


def _backfill() -> None:
    """Answers already in the events: the first accept or decline of each leg."""
    bind = op.get_bind()
    events = sa.table(
        "referral_events",
        sa.column("leg_id", sa.String),
        sa.column("kind", sa.String),
        sa.column("at", sa.DateTime(timezone=True)),
    )
    legs = sa.table(
        "referral_legs",
        sa.column("leg_id", sa.String),
        sa.column("sent_at", sa.DateTime(timezone=True)),
        sa.column("deadline", sa.DateTime(timezone=True)),
        sa.column("answered_at", sa.DateTime(timezone=True)),
        sa.column("answer", sa.String),
        sa.column("answer_working_days", sa.Float),
        sa.column("answered_late", sa.Boolean),
    )
    first: dict[str, tuple[object, str]] = {}
    for leg_id, kind, at in bind.execute(
        sa.select(events.c.leg_id, events.c.kind, events.c.at)
        .where(events.c.kind.in_(["accepted", "declined"]), events.c.leg_id.is_not(None))
        .order_by(events.c.at)
    ):
        first.setdefault(leg_id, (at, kind))
    if not first:
        return

    def aware(value: object) -> datetime:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    for leg_id, sent_at, deadline in bind.execute(
        sa.select(legs.c.leg_id, legs.c.sent_at, legs.c.deadline)
    ):
        if leg_id not in first:
            continue
        at, kind = first[leg_id]
        answered = aware(at)
        bind.execute(
            legs.update()
            .where(legs.c.leg_id == leg_id)
            .values(
                answered_at=answered,
                answer=kind,
                answer_working_days=answer_working_days(aware(sent_at), answered),
                answered_late=answered_late(answered_at=answered, deadline=aware(deadline)),
            )
        )


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("referral_legs") as batch:
        batch.drop_column("answered_late")
        batch.drop_column("answer_working_days")
        batch.drop_column("answer")
        batch.drop_column("answered_at")
