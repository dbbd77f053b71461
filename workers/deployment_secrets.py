"""The secrets a deployment must hold, checked before a process starts; made once for `up`.

No secret has a default in the code: a value published anywhere can sign anyone's links and
callbacks. `partnerflow api` and `partnerflow worker` refuse to start while one is unset, too
short, or a placeholder or value that has been published; `partnerflow up` makes each one once,
at random, into its own file under ``var/`` (0600) and hands it to the processes it runs, so
links and callbacks signed yesterday still verify after a restart.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.engine import make_url

from workers.codec import Keyring
from workers.private_files import private_folder
from workers.settings import Settings, secret_values

MIN_SECRET_LENGTH = 32

# Values shipped by earlier versions or as placeholders in examples: never accepted.
PUBLISHED_VALUES = frozenset(
    {
        "partnerflow-dev-webhook-secret",
        "partnerflow-dev-callback-secret",
        "partnerflow-dev-tracking-link-key",
        "change-me",
        "changeme",
        "secret",
    }
)
PLACEHOLDER_MARKS = ("REPLACE_WITH", "CHANGE_ME", "CHANGE-ME", "<", ">")


class SecretProblem(ValueError):
    """A required secret is unset or unfit; the message names each setting and what to do."""


@dataclass(frozen=True)
class RequiredSecret:
    """One secret every API and worker process needs."""

    field: str
    file: str
    make: Callable[[], str]
    signing: bool = True  # a signing key: checked for length and published values

    @property
    def env(self) -> str:
        """The environment variable that sets it."""
        return f"PARTNERFLOW_{self.field.upper()}"


def _token() -> str:
    return secrets.token_urlsafe(48)


REQUIRED: tuple[RequiredSecret, ...] = (
    RequiredSecret("encryption_keys", "encryption-keys", Keyring.new_spec, signing=False),
    RequiredSecret("webhook_secret", "webhook-secret", _token),
    RequiredSecret("callback_secret", "callback-secret", _token),
    RequiredSecret("link_secret", "link-secret", _token),
)


def _value(settings: Settings, required: RequiredSecret) -> SecretStr | None:
    value = getattr(settings, required.field)
    assert value is None or isinstance(value, SecretStr)
    return value


def problems(settings: Settings) -> list[str]:
    """What is wrong with the configured secrets, one line per setting; empty when all hold."""
    found: list[str] = []
    for required in REQUIRED:
        values = secret_values(_value(settings, required))
        if not values:
            found.append(f"{required.env} is not set")
            continue
        if not required.signing:
            continue
        for value in values:
            if _is_published(value):
                found.append(f"{required.env} holds a published or placeholder value")
                break
            if len(value) < MIN_SECRET_LENGTH:
                found.append(f"{required.env} is shorter than {MIN_SECRET_LENGTH} characters")
                break
    found.extend(_password_problems(settings))
    return found


def _is_published(value: str) -> bool:
    return value in PUBLISHED_VALUES or any(mark in value for mark in PLACEHOLDER_MARKS)


def _password_problems(settings: Settings) -> list[str]:
    """Passwords a deployment copied from an example without filling in."""
    found: list[str] = []
    password = make_url(settings.database_url).password if settings.database_url else None
    if isinstance(password, str) and _is_published(password):
        found.append("PARTNERFLOW_DATABASE_URL holds a published or placeholder password")
    smtp = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    if smtp is not None and _is_published(smtp):
        found.append("PARTNERFLOW_SMTP_PASSWORD holds a published or placeholder value")
    return found


def require(settings: Settings) -> None:
    """Refuse to go on unless every required secret is set and fit to use."""
    found = problems(settings)
    if found:
        raise SecretProblem(
            "; ".join(found) + ". Set each to a long random value (for example the output of "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`; for "
            "PARTNERFLOW_ENCRYPTION_KEYS `k1=` and 32 random bytes in base64), the same on every "
            "API and worker process; see deploy/README.md. `partnerflow up` makes them itself."
        )


def _read_or_make(path: Path, make: Callable[[], str]) -> str:
    if path.exists():
        return path.read_text().strip()
    private_folder(path.parent)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def embedded(settings: Settings) -> dict[str, str]:
    """The secrets `up` keeps in var/, as environment variables, for those not set otherwise.

    Each is read from its file, or made and written there (0600) the first time.
    """
    env: dict[str, str] = {}
    for required in REQUIRED:
        if secret_values(_value(settings, required)):
            continue
        env[required.env] = _read_or_make(settings.var_dir / required.file, required.make)
    return env


def with_secrets(settings: Settings, env: Mapping[str, str]) -> Settings:
    """``settings`` with the secrets of ``env`` (as made by :func:`embedded`) filled in."""
    update = {r.field: SecretStr(env[r.env]) for r in REQUIRED if r.env in env}
    return settings.model_copy(update=update)
