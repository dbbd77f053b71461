"""How Open Referral UK data maps onto routing: taxonomy terms → need categories, areas → wards.

ORUK has no fixed taxonomy and no notion of our wards, so an admin-editable mapping says
which terms mean which need category and which service areas or postcodes mean which ward.
The default covers the term names common in UK directories (LGA/ESD needs and service
lists, Open Eligibility style names) and partnerflow's own taxonomy, which is what our
export publishes, so an export always imports back to the same categories.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.directory import NeedCategory

NAMESPACE = uuid.UUID("6f3c8f2e-2d0b-5b8e-9c55-0f6c0e3a9b11")
"""Namespace of the uuid5 ids partnerflow gives to its own ORUK records."""

TAXONOMY_ID = str(uuid.uuid5(NAMESPACE, "taxonomy:need-categories"))
TAXONOMY_NAME = "partnerflow need categories"
ELIGIBILITY_TAXONOMY_ID = str(uuid.uuid5(NAMESPACE, "taxonomy:eligibility"))
ELIGIBILITY_TAXONOMY_NAME = "partnerflow eligibility"


def category_term_id(category: NeedCategory) -> str:
    """The ORUK taxonomy_term id of one of our need categories."""
    return str(uuid.uuid5(NAMESPACE, f"term:{category.value}"))


def category_term_name(category: NeedCategory) -> str:
    """A readable name for a need category, e.g. 'Benefits & debt'."""
    return _NAMES[category]


_NAMES = {
    NeedCategory.BENEFITS_DEBT: "Benefits & debt",
    NeedCategory.HOUSING: "Housing",
    NeedCategory.HEALTH: "Health",
    NeedCategory.EMPLOYMENT_TRAINING: "Employment & training",
    NeedCategory.FAMILY_SUPPORT: "Family support",
    NeedCategory.COMMUNITY_SAFETY: "Community safety",
    NeedCategory.ADULT_LEARNING: "Adult learning",
    NeedCategory.SOCIAL_ISOLATION: "Social isolation",
    NeedCategory.ENVIRONMENT: "Environment",
    NeedCategory.LEISURE: "Leisure",
    NeedCategory.MENTAL_HEALTH: "Mental health",
    NeedCategory.SUBSTANCE_MISUSE: "Substance misuse",
}


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def slug(text: str, limit: int = 60) -> str:
    """A stable lowercase id from free text (idempotent: slug(slug(x)) == slug(x))."""
    out = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:limit].strip("-")
    return out or "area"


def normalise_postcode(postcode: str) -> str:
    """Upper case without spaces: 'co15 1se' → 'CO151SE'."""
    return re.sub(r"\s+", "", postcode).upper()


class TaxonomyRule(BaseModel):
    """The ORUK taxonomy terms (by id, term code or name) and keywords that mean a category."""

    model_config = ConfigDict(extra="forbid")

    category: NeedCategory
    term_ids: list[str] = Field(default_factory=list, description="taxonomy_term ids (uuid).")
    terms: list[str] = Field(
        default_factory=list, description="taxonomy_term `term` codes or names, any case."
    )
    keywords: list[str] = Field(
        default_factory=list,
        description="Words in the service name or description, used only when no term matched.",
    )

    @field_validator("term_ids")
    @classmethod
    def _lower_ids(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]

    @field_validator("terms", "keywords")
    @classmethod
    def _folded(cls, value: list[str]) -> list[str]:
        return [_fold(v) for v in value if v.strip()]


class Ward(BaseModel):
    """A ward (or area) routing knows, with the name feeds use for it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=100, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200)


class TermRef(BaseModel):
    """The parts of a taxonomy term a rule can match."""

    id: str = ""
    term: str = ""
    name: str = ""


class OrukMapping(BaseModel):
    """The admin-editable mapping from ORUK data to routing data."""

    model_config = ConfigDict(extra="forbid")

    taxonomy: list[TaxonomyRule]
    wards: list[Ward] = Field(default_factory=list)
    postcodes: dict[str, str] = Field(
        default_factory=dict,
        description="Postcode prefix (district, sector or full postcode) → ward id.",
    )

    @field_validator("postcodes")
    @classmethod
    def _normalised(cls, value: dict[str, str]) -> dict[str, str]:
        return {normalise_postcode(k): v for k, v in value.items() if k.strip()}

    def inconsistencies(self) -> list[str]:
        """What an admin must fix before the mapping is used: duplicate or unknown wards."""
        found = []
        ids = [w.id for w in self.wards]
        if len(set(ids)) != len(ids):
            found.append("ward ids must be unique")
        unknown = sorted(set(self.postcodes.values()) - set(ids))
        if unknown:
            found.append(f"postcodes name unknown wards: {unknown}")
        return found

    def categories(self, terms: Iterable[TermRef], text: str) -> list[NeedCategory]:
        """Categories named by ``terms``; when none matches, by keywords found in ``text``."""
        found: list[NeedCategory] = []
        for ref in terms:
            keys = {_fold(ref.term), _fold(ref.name)} - {""}
            for rule in self.taxonomy:
                if ref.id.lower() in rule.term_ids or keys & set(rule.terms):
                    found.append(rule.category)
        if not found:
            folded = _fold(text)
            for rule in self.taxonomy:
                if any(re.search(rf"\b{re.escape(k)}\b", folded) for k in rule.keywords):
                    found.append(rule.category)
        return list(dict.fromkeys(found))

    def ward_for_area(self, name: str) -> str | None:
        """The ward a service area's name or text means, if any."""
        key = _fold(name)
        for ward in self.wards:
            if key in (_fold(ward.name), ward.id):
                return ward.id
        return None

    def ward_for_postcode(self, postcode: str) -> str | None:
        """The ward of the longest mapped prefix of ``postcode``, if any."""
        code = normalise_postcode(postcode)
        best = max((p for p in self.postcodes if code.startswith(p)), key=len, default=None)
        return self.postcodes[best] if best else None

    def ward_name(self, ward_id: str) -> str:
        """The display name of a ward (its id when unknown)."""
        return next((w.name for w in self.wards if w.id == ward_id), ward_id)


_DEFAULT_TERMS: dict[NeedCategory, tuple[list[str], list[str]]] = {
    NeedCategory.BENEFITS_DEBT: (
        [
            "benefits",
            "debt",
            "money advice",
            "debt advice",
            "benefits advice",
            "welfare rights",
            "financial support",
            "money and debt",
            "income maximisation",
            "money",
        ],
        [
            "benefit",
            "benefits",
            "debt",
            "debts",
            "money advice",
            "welfare rights",
            "universal credit",
        ],
    ),
    NeedCategory.HOUSING: (
        [
            "housing",
            "homelessness",
            "accommodation",
            "housing advice",
            "tenancy support",
            "housing and homelessness",
        ],
        ["housing", "homeless", "homelessness", "tenancy", "eviction", "accommodation"],
    ),
    NeedCategory.HEALTH: (
        [
            "health",
            "physical health",
            "health and wellbeing",
            "healthy lifestyles",
            "stop smoking",
            "health and social care",
            "public health",
        ],
        [
            "physical health",
            "health trainer",
            "health trainers",
            "stop smoking",
            "smoking cessation",
            "weight management",
            "healthy eating",
        ],
    ),
    NeedCategory.EMPLOYMENT_TRAINING: (
        [
            "employment",
            "employment and training",
            "jobs",
            "work",
            "skills",
            "training",
            "employment support",
            "jobs and careers",
        ],
        ["employment", "job search", "jobs", "apprenticeship", "apprenticeships", "cv"],
    ),
    NeedCategory.FAMILY_SUPPORT: (
        [
            "family support",
            "families",
            "parenting",
            "children and families",
            "early help",
            "carers",
            "children, young people and families",
        ],
        ["parenting", "family support", "families", "early help", "carers"],
    ),
    NeedCategory.COMMUNITY_SAFETY: (
        [
            "community safety",
            "crime",
            "crime prevention",
            "domestic abuse",
            "anti-social behaviour",
            "safety",
            "victims of crime",
        ],
        ["crime", "anti-social", "antisocial", "domestic abuse", "community safety"],
    ),
    NeedCategory.ADULT_LEARNING: (
        [
            "adult learning",
            "adult education",
            "education",
            "learning",
            "literacy",
            "numeracy",
            "esol",
            "english for speakers of other languages",
        ],
        ["adult learning", "adult education", "literacy", "numeracy", "esol", "courses"],
    ),
    NeedCategory.SOCIAL_ISOLATION: (
        [
            "social isolation",
            "loneliness",
            "befriending",
            "social activities",
            "community groups",
            "isolation",
        ],
        ["lonely", "loneliness", "isolation", "isolated", "befriending"],
    ),
    NeedCategory.ENVIRONMENT: (
        [
            "environment",
            "environmental health",
            "pest control",
            "fly-tipping",
            "waste",
            "noise",
            "environmental services",
        ],
        ["fly-tipping", "fly tipping", "pest control", "nuisance", "environmental health"],
    ),
    NeedCategory.LEISURE: (
        [
            "leisure",
            "sport",
            "sports",
            "physical activity",
            "exercise",
            "arts and culture",
            "leisure and culture",
        ],
        ["leisure", "sport", "sports", "exercise", "swimming", "gym", "physical activity"],
    ),
    NeedCategory.MENTAL_HEALTH: (
        [
            "mental health",
            "mental health and wellbeing",
            "counselling",
            "emotional wellbeing",
            "wellbeing",
            "emotional support",
        ],
        ["mental health", "counselling", "anxiety", "depression", "emotional wellbeing"],
    ),
    NeedCategory.SUBSTANCE_MISUSE: (
        [
            "substance misuse",
            "drugs",
            "alcohol",
            "drugs and alcohol",
            "addiction",
            "drug and alcohol",
        ],
        ["drug", "drugs", "alcohol", "addiction", "substance misuse"],
    ),
}


def default_mapping(
    wards: Iterable[Ward] = (), postcodes: dict[str, str] | None = None
) -> OrukMapping:
    """The shipped mapping: common UK term names, our own taxonomy, and the given wards."""
    rules = [
        TaxonomyRule(
            category=category,
            term_ids=[category_term_id(category)],
            terms=[category.value, category_term_name(category), *terms],
            keywords=keywords,
        )
        for category, (terms, keywords) in _DEFAULT_TERMS.items()
    ]
    return OrukMapping(taxonomy=rules, wards=list(wards), postcodes=postcodes or {})
