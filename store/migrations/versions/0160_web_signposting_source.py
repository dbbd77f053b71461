"""The public website's referrals are stored with source ``web_signposting``.

Revision ID: 0160
Revises: 0120
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0160"
down_revision: str | Sequence[str] | None = "0120"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE referrals SET source = 'web_signposting' WHERE source = 'signposting_web'")


def downgrade() -> None:
    op.execute("UPDATE referrals SET source = 'signposting_web' WHERE source = 'web_signposting'")
