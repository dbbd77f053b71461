"""Join the notification, referral and directory lines; index events by leg for statistics.

Revision ID: 0040
Revises: 0009, 0010, 0030
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0040"
down_revision: str | Sequence[str] | None = ("0009", "0010", "0030")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_referral_events_leg_id_kind", "referral_events", ["leg_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_referral_events_leg_id_kind", "referral_events")
