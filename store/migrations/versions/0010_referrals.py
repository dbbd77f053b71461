"""Referrals read model: referrals, needs, legs, events, outcomes, residents, numbers.

Revision ID: 0010
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def _number_fk() -> sa.Column[str]:
    return sa.Column("number", sa.String(32), sa.ForeignKey("referrals.number"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "referrals",
        sa.Column("number", sa.String(32), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("ward", sa.String(100), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("breached", sa.Boolean, nullable=False),
        sa.Column("next_deadline", _TS),
        sa.Column("submitted_by", sa.String(200), nullable=False),
        sa.Column("referrer_agency_id", sa.String(100)),
        sa.Column("consent", sa.JSON, nullable=False),
        sa.Column("status_reason", sa.Text, nullable=False),
        sa.Column("follow_up_due_at", _TS),
        sa.Column("follow_up_made_difference", sa.Boolean),
        sa.Column("follow_up_score", sa.Integer),
        sa.Column("personal_data_erased", sa.Boolean, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_referrals_created_at", "referrals", ["created_at"])
    for column in ("status", "ward", "urgency", "breached"):
        op.create_index(f"ix_referrals_{column}_created_at", "referrals", [column, "created_at"])

    op.create_table(
        "referral_needs",
        sa.Column("number", sa.String(32), sa.ForeignKey("referrals.number"), primary_key=True),
        sa.Column("need_id", sa.String(16), primary_key=True),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("signposted_service_id", sa.String(100)),
        sa.Column("tried_service_ids", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_referral_needs_category", "referral_needs", ["category"])
    op.create_index("ix_referral_needs_state", "referral_needs", ["state"])

    op.create_table(
        "referral_legs",
        sa.Column("leg_id", sa.String(48), primary_key=True),
        _number_fk(),
        sa.Column("need_id", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("agency_id", sa.String(100), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("route_reason", sa.Text, nullable=False),
        sa.Column("breached", sa.Boolean, nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
        sa.Column("deadline", _TS, nullable=False),
        sa.Column("reminded_at", _TS),
        sa.Column("escalated_at", _TS),
        sa.Column("decline_reason", sa.Text),
        sa.Column("withdraw_reason", sa.Text),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_referral_legs_number", "referral_legs", ["number"])
    op.create_index("ix_referral_legs_agency_id_state", "referral_legs", ["agency_id", "state"])
    op.create_index("ix_referral_legs_service_id_state", "referral_legs", ["service_id", "state"])

    op.create_table(
        "referral_events",
        sa.Column("event_id", sa.String(36), primary_key=True),
        _number_fk(),
        sa.Column("leg_id", sa.String(48)),
        sa.Column("need_id", sa.String(16)),
        sa.Column("at", _TS, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_referral_events_number_at", "referral_events", ["number", "at"])

    op.create_table(
        "referral_outcomes",
        sa.Column("leg_id", sa.String(48), primary_key=True),
        _number_fk(),
        sa.Column("need_id", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("service_id", sa.String(100), nullable=False),
        sa.Column("agency_id", sa.String(100), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("value", sa.Float),
        sa.Column("unit", sa.String(20)),
        sa.Column("recorded_at", _TS, nullable=False),
    )
    op.create_index("ix_referral_outcomes_number", "referral_outcomes", ["number"])
    op.create_index(
        "ix_referral_outcomes_agency_id_recorded_at",
        "referral_outcomes",
        ["agency_id", "recorded_at"],
    )
    op.create_index("ix_referral_outcomes_code", "referral_outcomes", ["code"])

    op.create_table(
        "referral_residents",
        sa.Column("number", sa.String(32), sa.ForeignKey("referrals.number"), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("date_of_birth", sa.Date),
        sa.Column("address", sa.Text),
        sa.Column("postcode", sa.String(10)),
        sa.Column("phone", sa.String(40)),
        sa.Column("email", sa.String(320)),
        sa.Column("need_notes", sa.JSON, nullable=False),
        sa.Column("referrer_name", sa.String(200), nullable=False),
        sa.Column("referrer_email", sa.String(320)),
    )

    op.create_table(
        "referral_sequences",
        sa.Column("prefix", sa.String(8), primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("last", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "referral_sequences",
        "referral_residents",
        "referral_outcomes",
        "referral_events",
        "referral_legs",
        "referral_needs",
        "referrals",
    ):
        op.drop_table(table)
