"""The agencies page's per-agency counts read from the index alone again: it gains
``offer_lost``, which the counts filter on since first-accept offers.

Revision ID: 0170
Revises: 0160
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0170"
down_revision: str | Sequence[str] | None = "0160"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAME = "ix_referral_legs_agency_id_answers"
BEFORE = ["agency_id", "state", "answer", "answered_late"]


def upgrade() -> None:
    op.drop_index(NAME, table_name="referral_legs")
    op.create_index(NAME, "referral_legs", [*BEFORE, "offer_lost"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="referral_legs")
    op.create_index(NAME, "referral_legs", BEFORE)
