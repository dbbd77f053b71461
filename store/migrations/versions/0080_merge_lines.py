"""Join the partnership, referrer-index and callback lines into one head again.

Revision ID: 0080
Revises: 0020, 0050, 0070
"""

from collections.abc import Sequence

revision: str = "0080"
down_revision: str | Sequence[str] | None = ("0020", "0050", "0070")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
