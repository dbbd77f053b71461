"""Notifications that are failing now, with their last error: what staff must see.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_failures",
        sa.Column("idempotency_key", sa.String(128), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("subject_ref", sa.String(200), nullable=False, server_default=""),
        sa.Column("workflow_id", sa.String(200), nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gave_up", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_notification_failures_last_failed_at", "notification_failures", ["last_failed_at"]
    )


def downgrade() -> None:
    op.drop_table("notification_failures")
