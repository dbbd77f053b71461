"""No secret ships with the code: processes refuse to start without their own, `up` makes them."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from domain.signature import callback_secret, sign, verify
from domain.signed_link import TRACK_PURPOSE, BadLink, LinkKeys, sign_link, verify_link
from tests.conftest import DEPLOYMENT_SECRETS, SCRIPTS
from workers import deployment_secrets
from workers.codec import keyring_from_settings
from workers.settings import Settings, secret_values

REPO = Path(__file__).resolve().parents[2]
WORD = re.compile(r"[\w\-+/=.:~]{4,}")
QUOTED = re.compile(r"\"([^\"\n]{4,200})\"|'([^'\n]{4,200})'")
ASSIGNED = re.compile(r"^[A-Z_]+=(.+)$", flags=re.M)
UNSET = {
    "encryption_keys": None,
    "webhook_secret": None,
    "callback_secret": None,
    "link_secret": None,
}


def _bare(tmp_path: Path) -> Settings:
    """Settings as on a newcomer's machine: no secret configured."""
    return Settings(var_dir=tmp_path / "var", **UNSET)  # type: ignore[arg-type]


def _repository_values() -> set[str]:
    """Every word and every quoted string in the repository's files: what anyone can read."""
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    found: set[str] = set()
    for name in files:
        path = REPO / name
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found.update(WORD.findall(text))
        found.update(a or b for a, b in QUOTED.findall(text))
        found.update(ASSIGNED.findall(text))
    return found


def test_nothing_signed_with_a_value_from_the_repository_is_accepted(tmp_path: Path) -> None:
    settings = deployment_secrets.with_secrets(
        _bare(tmp_path), deployment_secrets.embedded(_bare(tmp_path))
    )
    links = LinkKeys.from_secrets(secret_values(settings.link_secret))
    masters = secret_values(settings.callback_secret)
    now = datetime.now(UTC)
    candidates = _repository_values()
    # The values that used to be defaults are among them, so the search reaches them.
    assert {"partnerflow-dev-callback-secret", "partnerflow-dev-webhook-secret"} <= candidates
    body = b'{"event":"leg.accepted"}'
    for value in candidates:
        forged = sign_link(
            LinkKeys.from_secrets([value]),
            "TEN-2026-000001",
            purpose=TRACK_PURPOSE,
            expires=now + timedelta(days=1),
        )
        with pytest.raises(BadLink):
            verify_link(links, forged, purpose=TRACK_PURPOSE, now=now)
        header = sign([callback_secret(value, "cab"), value], int(now.timestamp()), body)
        with pytest.raises(ValueError, match="does not match"):
            verify(
                [callback_secret(master, "cab") for master in masters],
                header,
                body,
                now=int(now.timestamp()),
            )


def test_up_makes_each_secret_once_privately_and_keeps_it(tmp_path: Path) -> None:
    settings = _bare(tmp_path)
    first = deployment_secrets.embedded(settings)
    assert set(first) == {r.env for r in deployment_secrets.REQUIRED}
    for required in deployment_secrets.REQUIRED:
        path = settings.var_dir / required.file
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert deployment_secrets.embedded(settings) == first  # a restart reads the same ones
    made = deployment_secrets.with_secrets(settings, first)
    assert deployment_secrets.problems(made) == []
    assert len({first[r.env] for r in deployment_secrets.REQUIRED}) == 4
    # A value set in the environment is used as it is, and nothing is made for it.
    given = "g" * 40
    configured = Settings(var_dir=tmp_path / "other", **{**UNSET, "link_secret": SecretStr(given)})
    assert "PARTNERFLOW_LINK_SECRET" not in deployment_secrets.embedded(configured)
    assert not (tmp_path / "other" / "link-secret").exists()


def test_the_codec_uses_the_key_up_made_and_never_makes_one(tmp_path: Path) -> None:
    settings = _bare(tmp_path)
    with pytest.raises(ValueError, match="PARTNERFLOW_ENCRYPTION_KEYS is not set"):
        keyring_from_settings(settings)
    assert not (settings.var_dir / "encryption-keys").exists()
    deployment_secrets.embedded(settings)
    assert keyring_from_settings(settings).key_ids == ["k1"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "is not set"),
        ("partnerflow-dev-callback-secret", "holds a published or placeholder"),
        ("REPLACE_WITH_ANOTHER_LONG_RANDOM_STRING", "holds a published or placeholder"),
        ("change-me", "holds a published or placeholder"),
        ("short-but-random-Zq81", "is shorter than 32"),
        (
            "x" * 40 + ",change-me",
            "holds a published or placeholder",
        ),  # an old value kept in rotation
    ],
)
def test_an_unfit_secret_is_named(tmp_path: Path, value: str | None, reason: str) -> None:
    fit = deployment_secrets.with_secrets(_bare(tmp_path), dict(DEPLOYMENT_SECRETS))
    settings = fit.model_copy(
        update={"callback_secret": SecretStr(value) if value is not None else None}
    )
    with pytest.raises(
        deployment_secrets.SecretProblem, match=f"PARTNERFLOW_CALLBACK_SECRET {reason}"
    ):
        deployment_secrets.require(settings)
    assert deployment_secrets.problems(fit) == []


def test_every_placeholder_of_the_deployment_example_is_refused() -> None:
    example = (REPO / "deploy" / "env.example").read_text()
    for required in deployment_secrets.REQUIRED:
        match = re.search(rf"^{required.env}=(.+)$", example, flags=re.M)
        assert match is not None, required.env
        env = {**DEPLOYMENT_SECRETS, required.env: match.group(1)}
        settings = deployment_secrets.with_secrets(Settings(**UNSET), env)  # type: ignore[arg-type]
        if required.signing:
            assert any(required.env in p for p in deployment_secrets.problems(settings))
        else:  # the encryption key placeholder is not even a key
            with pytest.raises(ValueError, match=r"base64|32 bytes"):
                keyring_from_settings(settings)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"database_url": "postgresql+asyncpg://pf:change-me@db/pf"},
            "PARTNERFLOW_DATABASE_URL holds a published or placeholder password",
        ),
        (
            {"smtp_password": SecretStr("REPLACE_WITH_THE_SMTP_PASSWORD")},
            "PARTNERFLOW_SMTP_PASSWORD holds a published or placeholder value",
        ),
    ],
)
def test_a_password_left_as_in_the_example_is_named(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    fit = deployment_secrets.with_secrets(_bare(tmp_path), dict(DEPLOYMENT_SECRETS))
    assert deployment_secrets.problems(fit.model_copy(update=change)) == [message]
    real = {"database_url": "postgresql+asyncpg://pf:Kq8v2-long-Zx@db/pf"}
    assert deployment_secrets.problems(fit.model_copy(update=real)) == []


@pytest.mark.parametrize("command", ["api", "worker"])
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"PARTNERFLOW_LINK_SECRET": None}, "PARTNERFLOW_LINK_SECRET is not set"),
        (
            {"PARTNERFLOW_WEBHOOK_SECRET": "partnerflow-dev-webhook-secret"},
            "PARTNERFLOW_WEBHOOK_SECRET holds a published or placeholder value",
        ),
        ({"PARTNERFLOW_ENCRYPTION_KEYS": None}, "PARTNERFLOW_ENCRYPTION_KEYS is not set"),
    ],
)
def test_api_and_worker_refuse_to_start_naming_the_setting(
    tmp_path: Path, command: str, change: dict[str, str | None], message: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in change}
    env.update({k: v for k, v in change.items() if v is not None})
    env["PARTNERFLOW_VAR_DIR"] = str(tmp_path / "var")
    done = subprocess.run(
        [str(SCRIPTS / "partnerflow"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    # Nothing was made on the way: a deployment's processes never invent their own secrets.
    assert not (tmp_path / "var" / "link-secret").exists()
