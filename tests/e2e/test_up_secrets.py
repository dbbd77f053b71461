"""`make up` on a newcomer's machine: its own secrets, nothing forgeable, links that last."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domain.signature import SIGNATURE_HEADER, callback_secret, sign
from domain.signed_link import TRACK_PURPOSE, LinkKeys, sign_link
from tests.e2e.test_referral_up import SUBMISSION
from tests.helpers.stack import Stack
from workers.deployment_secrets import PUBLISHED_VALUES, REQUIRED

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _request(url: str, *, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=body, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def _submit(stack: Stack) -> str:
    admin = stack.admin_token()
    assert admin
    made = urllib.request.Request(  # noqa: S310
        f"{stack.api}/api/tokens",
        data=json.dumps({"subject": "reach-out-1", "role": "referrer"}).encode(),
        headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(made, timeout=10) as resp:  # noqa: S310
        referrer = json.loads(resp.read())["token"]
    sent = urllib.request.Request(  # noqa: S310
        f"{stack.api}/api/referrals",
        data=json.dumps(SUBMISSION).encode(),
        headers={"Authorization": f"Bearer {referrer}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(sent, timeout=30) as resp:  # noqa: S310
        return str(json.loads(resp.read())["number"])


def _track(keys: LinkKeys, number: str) -> str:
    expires = datetime.now(UTC) + timedelta(days=30)
    return sign_link(keys, number, purpose=TRACK_PURPOSE, expires=expires)


def _callback_status(stack: Stack, secret: str) -> int:
    body = json.dumps({"event": "leg.accepted", "leg_id": "TEN-2026-000001-L1"}).encode()
    return _request(
        f"{stack.api}/api/callbacks/tdc-housing",
        body=body,
        headers={
            "Content-Type": "application/json",
            "Idempotency-Key": f"forged-{time.monotonic_ns()}",
            SIGNATURE_HEADER: sign(secret, int(time.time()), body),
        },
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    assert process.wait(timeout=60) == 0


def test_up_makes_its_own_secrets_and_its_links_outlive_a_restart(tmp_path: Path) -> None:
    stack = Stack.on_free_ports(tmp_path / "var")
    process = stack.start()
    try:
        stack.wait_ready(process)
        made = {r.file: (stack.var_dir / r.file).read_text().strip() for r in REQUIRED}
        for name in made:
            assert stat.S_IMODE(os.stat(stack.var_dir / name).st_mode) == 0o600
        number = _submit(stack)
        genuine = _track(LinkKeys.from_secrets([made["link-secret"]]), number)
        assert _request(f"{stack.api}/find/track/{genuine}") == 200

        # What an attacker can read in the code signs nothing here.
        for published in PUBLISHED_VALUES:
            forged = _track(LinkKeys.from_secrets([published]), number)
            assert _request(f"{stack.api}/find/track/{forged}") == 404
            assert _callback_status(stack, callback_secret(published, "tdc-housing")) == 401
        own = callback_secret(made["callback-secret"], "tdc-housing")
        assert _callback_status(stack, own) != 401  # the agency's real secret is let in
    finally:
        _stop(process)

    again = stack.start()
    try:
        stack.wait_ready(again)
        assert {r.file: (stack.var_dir / r.file).read_text().strip() for r in REQUIRED} == made
        assert _request(f"{stack.api}/find/track/{genuine}") == 200
    finally:
        _stop(again)
    # None of the secrets it made is anywhere in the code.
    code = subprocess.run(
        ["git", "grep", "-F", "-l", "-e", made["link-secret"], "-e", made["callback-secret"]],
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    assert code.returncode == 1
    assert code.stdout == b""
