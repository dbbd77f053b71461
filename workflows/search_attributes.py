"""Search attributes every partnerflow workflow may set: the one list the server registers.

They make each process findable with ``temporal workflow list --query`` and in the Temporal UI.
Never put personal data in them: search attributes are not encrypted.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

KIND = SearchAttributeKey.for_keyword("PfKind")
STATUS = SearchAttributeKey.for_keyword("PfStatus")
AGENCIES = SearchAttributeKey.for_keyword_list("PfAgencies")
WARD = SearchAttributeKey.for_keyword("PfWard")
URGENCY = SearchAttributeKey.for_keyword("PfUrgency")
BREACHED = SearchAttributeKey.for_bool("PfBreached")
STAGE = SearchAttributeKey.for_keyword("PfStage")
CYCLE = SearchAttributeKey.for_int("PfCycle")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("PfNextDeadline")
OVERDUE = SearchAttributeKey.for_bool("PfOverdue")
WAITING_ON = SearchAttributeKey.for_keyword_list("PfWaitingOn")
"""Service ids a referral has an open leg with: how a withdrawn service finds its referrals."""

ALL: tuple[SearchAttributeKey[Any], ...] = (
    KIND,
    STATUS,
    AGENCIES,
    WARD,
    URGENCY,
    BREACHED,
    STAGE,
    CYCLE,
    NEXT_DEADLINE,
    OVERDUE,
    WAITING_ON,
)

# Names the `temporal` CLI uses for each indexed value type.
CLI_TYPES = {
    "KEYWORD": "Keyword",
    "KEYWORD_LIST": "KeywordList",
    "BOOL": "Bool",
    "INT": "Int",
    "DATETIME": "Datetime",
    "TEXT": "Text",
    "FLOAT": "Double",
}


def cli_flags() -> list[str]:
    """``--search-attribute Name=Type`` flags for ``temporal server start-dev``."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={CLI_TYPES[key.indexed_value_type.name]}"]
    return flags
