"""Referrers list their own referrals: index referrals by who submitted them.

Revision ID: 0050
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0050"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_referrals_submitted_by_created_at", "referrals", ["submitted_by", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_referrals_submitted_by_created_at", table_name="referrals")
