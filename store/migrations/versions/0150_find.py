"""The public signposting website: postcodes, visitors' sessions, rate limits, outbox.

Revision ID: 0150
Revises: 0100
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0150"
down_revision: str | Sequence[str] | None = "0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "postcodes",
        sa.Column("postcode", sa.String(length=8), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("ward_code", sa.String(length=12), nullable=True),
        sa.Column("ward_name", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("postcode", name="pk_postcodes"),
    )
    op.create_table(
        "find_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_find_sessions"),
    )
    op.create_index("ix_find_sessions_expires_at", "find_sessions", ["expires_at"])
    op.create_table(
        "find_rate_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bucket", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_find_rate_events"),
    )
    op.create_index("ix_find_rate_events_bucket_at", "find_rate_events", ["bucket", "at"])
    op.create_table(
        "find_outbox",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_find_outbox"),
    )


def downgrade() -> None:
    op.drop_table("find_outbox")
    op.drop_index("ix_find_rate_events_bucket_at", table_name="find_rate_events")
    op.drop_table("find_rate_events")
    op.drop_index("ix_find_sessions_expires_at", table_name="find_sessions")
    op.drop_table("find_sessions")
    op.drop_table("postcodes")
