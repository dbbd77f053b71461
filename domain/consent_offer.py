"""Who a self-referral could be shared with: for each need, every agency routing would use.

The consent page asks the resident about each agency in turn, so it must name exactly the
agencies routing may send their details to: those with a suitable service for one of their
needs in their ward at their age, in routing's own order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.directory import Directory, NeedCategory
from domain.routing import rank_services


@dataclass
class AgencyOffer:
    """An agency the resident may agree to share with, and for which needs and services."""

    agency_id: str
    name: str
    description: str
    needs: list[NeedCategory] = field(default_factory=list)
    services: list[str] = field(default_factory=list)


@dataclass
class ConsentOffer:
    """The agencies in routing order, and the needs no service in the ward can meet."""

    agencies: list[AgencyOffer]
    unmet: list[NeedCategory]

    def agency_ids(self) -> set[str]:
        """Every agency offered."""
        return {a.agency_id for a in self.agencies}


def consent_offer(
    directory: Directory, needs: list[NeedCategory], *, ward: str, age: int | None
) -> ConsentOffer:
    """The agencies routing could use for ``needs`` in ``ward`` (full services included: they
    may have room by the time the referral is routed)."""
    organisations = {o.id: o for o in directory.organisations}
    offers: dict[str, AgencyOffer] = {}
    unmet: list[NeedCategory] = []
    for need in needs:
        choices = rank_services(directory, category=need, ward=ward, age=age, include_full=True)
        if not choices:
            unmet.append(need)
        for choice in choices:
            service = choice.service
            org = organisations.get(service.agency_id)
            offer = offers.setdefault(
                service.agency_id,
                AgencyOffer(
                    agency_id=service.agency_id,
                    name=org.name if org else service.agency_id,
                    description=org.description if org else "",
                ),
            )
            if need not in offer.needs:
                offer.needs.append(need)
            if service.name not in offer.services:
                offer.services.append(service.name)
    return ConsentOffer(agencies=list(offers.values()), unmet=unmet)
