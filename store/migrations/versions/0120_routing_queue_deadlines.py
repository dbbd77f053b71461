"""Outcome deadlines and offers on legs; signposts, the co-ordinator's queue on needs.

Revision ID: 0120
Revises: 0140
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0120"
down_revision: str | Sequence[str] | None = "0140"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("referral_legs") as legs:
        legs.add_column(sa.Column("accepted_at", _TS, nullable=True))
        legs.add_column(sa.Column("outcome_due_at", _TS, nullable=True))
        legs.add_column(
            sa.Column("outcome_overdue", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        legs.add_column(
            sa.Column("offered", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        legs.add_column(
            sa.Column("offer_lost", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("referral_needs") as needs:
        needs.add_column(
            sa.Column("signposted_service_ids", sa.JSON(), nullable=False, server_default="[]")
        )
        needs.add_column(sa.Column("unallocated_at", _TS, nullable=True))
        needs.add_column(
            sa.Column("queue_overdue", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("referral_needs") as needs:
        needs.drop_column("queue_overdue")
        needs.drop_column("unallocated_at")
        needs.drop_column("signposted_service_ids")
    with op.batch_alter_table("referral_legs") as legs:
        legs.drop_column("offer_lost")
        legs.drop_column("offered")
        legs.drop_column("outcome_overdue")
        legs.drop_column("outcome_due_at")
        legs.drop_column("accepted_at")
