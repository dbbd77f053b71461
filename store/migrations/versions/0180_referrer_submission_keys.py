"""Idempotency keys of referral submissions, so a resent submission makes one referral.

Revision ID: 0180_referrer_submission_keys
Revises: 0170
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0180_referrer_submission_keys"
down_revision: str | Sequence[str] | None = "0170"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submission_keys",
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("number", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("submitted_by", "idempotency_key", name="pk_submission_keys"),
    )
    op.create_index(
        "ix_submission_keys_received_at", "submission_keys", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_submission_keys_received_at", "submission_keys")
    op.drop_table("submission_keys")
