"""Agencies that receive residents' details by email, each with its lawful reason.

Revision ID: 0186_agency_email_details
Revises: 0185_data_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0186_agency_email_details"
down_revision: str | Sequence[str] | None = "0185_data_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agency_email_details",
        sa.Column("agency_id", sa.String(100), nullable=False),
        sa.Column("lawful_reason", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agency_id", name="pk_agency_email_details"),
    )


def downgrade() -> None:
    op.drop_table("agency_email_details")
