"""The first admin's token and dashboard password, handed over without landing in a log.

On a terminal ``partnerflow up`` shows them once. When its output goes elsewhere (a file, a
service manager's journal) they would stay there for anyone reading the logs, so they are
written once to ``var/first-admin`` (mode 0600) instead, and the output says where.
"""

from __future__ import annotations

from pathlib import Path

from workers.private_files import write_private

FILE_NAME = "first-admin"


def write_first_admin(var_dir: Path, *, token: str | None, password: str | None) -> Path:
    """Write the new secrets to ``var/first-admin``, owner-only; its path."""
    lines = [
        "# partnerflow: the first admin's secrets, written once by `partnerflow up`.",
        "# Keep them somewhere safe, then delete this file.",
    ]
    if token:
        lines.append(f"api_token={token}")
    if password:
        lines += ["dashboard_user=admin", f"dashboard_password={password}"]
    path = var_dir / FILE_NAME
    write_private(path, "\n".join(lines) + "\n")
    return path


def read_first_admin(var_dir: Path) -> dict[str, str]:
    """The ``key=value`` lines of ``var/first-admin`` (empty if there is none)."""
    path = var_dir / FILE_NAME
    if not path.exists():
        return {}
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {key: value for key, sep, value in pairs if sep and not key.startswith("#")}
