"""The partnerships read model: one row per partnership, kept current by its workflow.

Revision ID: 0020
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partnerships",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("parent_id", sa.String(100)),
        sa.Column("strategic", sa.Boolean, nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("next_deadline", sa.DateTime(timezone=True)),
        sa.Column("overdue", sa.Boolean, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_partnerships_stage", "partnerships", ["stage"])
    op.create_index("ix_partnerships_parent_id", "partnerships", ["parent_id"])
    op.create_index("ix_partnerships_next_deadline", "partnerships", ["next_deadline"])


def downgrade() -> None:
    op.drop_table("partnerships")
