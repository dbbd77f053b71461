"""Reach Out sessions logged by workers: date, ward, area and the figures, no personal data.

Revision ID: 0181_referrer_outreach_sessions
Revises: 0180_referrer_submission_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0181_referrer_outreach_sessions"
down_revision: str | Sequence[str] | None = "0180_referrer_submission_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outreach_sessions",
        sa.Column("session_id", sa.String(48), nullable=False),
        sa.Column("logged_by", sa.String(200), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("ward", sa.String(100), nullable=False),
        sa.Column("area", sa.String(300), nullable=False),
        sa.Column("doors_knocked", sa.Integer(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("residents_helped", sa.Integer(), nullable=False),
        sa.Column("referrals_made", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_outreach_sessions"),
    )
    op.create_index("ix_outreach_sessions_logged_by", "outreach_sessions", ["logged_by"])
    op.create_index("ix_outreach_sessions_held_on", "outreach_sessions", ["held_on"])


def downgrade() -> None:
    op.drop_index("ix_outreach_sessions_held_on", "outreach_sessions")
    op.drop_index("ix_outreach_sessions_logged_by", "outreach_sessions")
    op.drop_table("outreach_sessions")
