"""An outcome's note: the agency's words about what happened, erased with the resident's data.

Revision ID: 0192_outcome_notes
Revises: 0190_spent_links
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0192_outcome_notes"
down_revision: str | Sequence[str] | None = "0190_spent_links"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("referral_outcomes") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral_outcomes") as batch:
        batch.drop_column("note")
