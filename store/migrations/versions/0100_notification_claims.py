"""Claims on notifications being sent, so two executions of one notice never both send it.

Revision ID: 0100
Revises: 0090
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0100"
down_revision: str | Sequence[str] | None = "0090"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_claims",
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idempotency_key", name="pk_notification_claims"),
    )


def downgrade() -> None:
    op.drop_table("notification_claims")
