from pathlib import Path

import pytest

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
