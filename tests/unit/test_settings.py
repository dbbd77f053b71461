from datetime import date
from pathlib import Path
from secrets import token_urlsafe

import pytest

from domain.accessibility import Compliance
from workers.serve import find_config
from workers.settings import Settings


def test_embedded_defaults_need_no_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("var/partnerflow.db")


def test_cluster_and_postgres_by_environment_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("PARTNERFLOW_DATABASE_URL", "postgresql+asyncpg://pf@db/pf")
    monkeypatch.setenv("PARTNERFLOW_TEMPORAL_TLS", "true")
    settings = Settings()
    assert settings.temporal_host == "temporal.internal"
    assert settings.temporal_tls is True
    assert settings.resolved_database_url == "postgresql+asyncpg://pf@db/pf"


def test_the_councils_contacts_reach_the_public_website(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PARTNERFLOW_LINK_SECRET", token_urlsafe(32))
    monkeypatch.setenv("PARTNERFLOW_COUNCIL_EMAIL", "web@borough.example")
    monkeypatch.setenv("PARTNERFLOW_COUNCIL_PHONE", "01632 960321")
    monkeypatch.setenv("PARTNERFLOW_DATA_PROTECTION_OFFICER_EMAIL", "dpo@borough.example")
    monkeypatch.setenv("PARTNERFLOW_SAFEGUARDING_PHONE", "01632 960654")
    monkeypatch.setenv("PARTNERFLOW_ACCESSIBILITY_COMPLIANCE", "partial")
    monkeypatch.setenv(
        "PARTNERFLOW_ACCESSIBILITY_KNOWN_ISSUES", '["Maps have no text alternative"]'
    )
    monkeypatch.setenv("PARTNERFLOW_ACCESSIBILITY_STATEMENT_REVIEWED", "2026-11-04")
    contacts = find_config(Settings()).contacts
    assert (contacts.email, contacts.phone) == ("web@borough.example", "01632 960321")
    assert contacts.dpo_email == "dpo@borough.example"
    assert contacts.safeguarding_phone == "01632 960654"
    assert contacts.compliance is Compliance.PARTIAL
    assert contacts.known_issues == ("Maps have no text alternative",)
    assert contacts.statement_reviewed == date(2026, 11, 4)
    monkeypatch.setenv("PARTNERFLOW_ACCESSIBILITY_COMPLIANCE", "mostly")
    with pytest.raises(ValueError, match="accessibility_compliance"):
        Settings()
