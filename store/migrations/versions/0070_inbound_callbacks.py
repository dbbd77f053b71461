"""Idempotency keys of partner callbacks, so a repeated callback is acted on once.

Revision ID: 0070
Revises: 0040
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0070"
down_revision: str | Sequence[str] | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_callbacks",
        sa.Column("agency_id", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("leg_id", sa.String(48), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("agency_id", "idempotency_key", name="pk_inbound_callbacks"),
    )
    op.create_index(
        "ix_inbound_callbacks_received_at", "inbound_callbacks", ["received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_inbound_callbacks_received_at", "inbound_callbacks")
    op.drop_table("inbound_callbacks")
