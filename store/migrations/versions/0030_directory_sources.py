"""Directory sources and the ORUK mapping: where each service came from, and the admin-edited
taxonomy and area mapping.

Revision ID: 0030
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("services") as batch:
        batch.add_column(sa.Column("source", sa.String(500), nullable=True))
        batch.create_index("ix_services_source", ["source"])
    op.create_table(
        "directory_mapping",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("directory_mapping")
    with op.batch_alter_table("services") as batch:
        batch.drop_index("ix_services_source")
        batch.drop_column("source")
