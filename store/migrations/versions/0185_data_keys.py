"""Data keys: one per referral, wrapped by the master key, destroyed on erasure.

Revision ID: 0185_data_keys
Revises: 0181_referrer_outreach_sessions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0185_data_keys"
down_revision: str | Sequence[str] | None = "0181_referrer_outreach_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("master_key_id", sa.String(100), nullable=True),
        sa.Column("wrapped", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("destroyed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_data_keys"),
        sa.UniqueConstraint("number", name="uq_data_keys_number"),
    )


def downgrade() -> None:
    op.drop_table("data_keys")
