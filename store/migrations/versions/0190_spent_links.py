"""Spent signed links: the hash of each one-off link's token once its action is done.

Revision ID: 0190_spent_links
Revises: 0186_agency_email_details
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0190_spent_links"
down_revision: str | Sequence[str] | None = "0186_agency_email_details"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "spent_links",
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(60), nullable=False),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_sha256", name="pk_spent_links"),
    )
    op.create_index("ix_spent_links_expires_at", "spent_links", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_spent_links_expires_at", table_name="spent_links")
    op.drop_table("spent_links")
