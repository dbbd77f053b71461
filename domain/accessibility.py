"""What the public website's accessibility statement must say about its compliance, in the
words of the model statement under the Public Sector Bodies Accessibility Regulations 2018."""

from __future__ import annotations

from enum import StrEnum


class Compliance(StrEnum):
    """How far the website meets WCAG 2.2 AA."""

    FULL = "full"
    PARTIAL = "partial"
    NOT = "not"


COMPLIANCE_WORDS: dict[Compliance, str] = {
    Compliance.FULL: "fully compliant with",
    Compliance.PARTIAL: "partially compliant with",
    Compliance.NOT: "not compliant with",
}
