"""Partners act from the email that asks them: the reminder carries a signed link to the one
form it asks for; opening it changes nothing; the POST needs the form's token, acts only for
that partner, and the link stops working once done; forged, borrowed and expired links get a
calm page. Real workflow (time-skipping server), real SMTP sink, the real app."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from aiohttp.test_utils import TestClient, TestServer
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.find.site import FindConfig
from domain.partner_link import PARTNER_ACTION_PURPOSE, PartnerAsk
from domain.signed_link import TRACK_PURPOSE, sign_link
from store.db import Sessions
from tests.api.test_dashboard_partnership_actions import CAB_COMMITMENT, summary_links
from tests.api.test_dashboard_partnerships import csrf_of
from tests.conftest import StaticTemporal
from tests.helpers import partnership_scenario as sc
from tests.helpers.partnership_support import (
    LINK_KEYS,
    PARTNER_LINK_BASE,
    act,
    idle,
    partnership_worker,
    start,
)
from tests.helpers.sinks import SmtpSink
from workflows.partnership import PartnershipWorkflow

CAB = sc.PARTNERS["tendring-cab"][1]
POLICE = sc.PARTNERS["essex-police"][1]


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage) -> str:
    found = re.search(re.escape(PARTNER_LINK_BASE) + r"(/partner/[A-Za-z0-9_.\-]+)", body(message))
    assert found is not None, body(message)
    return found.group(1)


async def test_a_partner_commits_from_the_link_in_its_reminder(
    time_skipping_env: WorkflowEnvironment, sessions: Sessions, smtp_sink: SmtpSink
) -> None:
    env = time_skipping_env
    async with partnership_worker(env.client, sessions, smtp_sink) as worker:
        handle = await start(env, worker)
        await act(handle, sc.invitations())
        pid = handle.id.removeprefix("partnership-")
        try:
            await env.sleep(timedelta(days=8))
            await idle(handle)
            invitation, reminder = smtp_sink.to(CAB)
            text = body(invitation)
            # In words: what is asked, by when, why, and what the link is for.
            assert (
                invitation["Subject"]
                == "Interaction Partnership invites Tendring Citizens Advice to join"
            )
            assert re.search(r"Please say by \d+ \w+ \d{4} what your organisation will", text)
            assert "so that the partnership can be agreed" in text
            assert "Answer here, without signing in: http://dashboard.test/partner/" in text
            assert "The link is for your organisation only" in text
            assert reminder["Subject"] == "Reminder 1: please commit to Interaction Partnership"
            assert "Please record your contribution and agreement to the aims" in body(reminder)
            # The same ask: the reminder's link is the invitation's, or as good.
            cab_link, police_link = link_in(invitation), link_in(smtp_sink.to(POLICE)[0])
            assert link_in(reminder).startswith("/partner/")
            assert cab_link != police_link

            app = create_app(
                sessions=sessions,
                temporal=StaticTemporal(env.client),
                task_queue=worker.task_queue,
                find_config=FindConfig(link_keys=LINK_KEYS),
            )
            async with TestClient(TestServer(app)) as site:
                # Opening the link shows the one form, for that partner, and changes nothing.
                opened = await site.get(cab_link)
                html = await opened.text()
                assert opened.status == 200, html
                assert "A partner commits to the agreement" in html
                assert 'value="tendring-cab" checked' in html
                assert "essex-police" not in html
                state = await handle.query(PartnershipWorkflow.state)
                assert state.partner("tendring-cab").commitment is None  # type: ignore[union-attr]
                token = csrf_of(html)

                # Forged, borrowed and expired links: calm pages that say what to do.
                forged = await site.get(cab_link[:-2] + ("AA" if cab_link[-2:] != "AA" else "BB"))
                assert forged.status == 404
                assert "This link does not work" in await forged.text()
                ask = PartnerAsk(
                    partnership_id=pid,
                    agency_id="tendring-cab",
                    update="commit_partner",
                    answers={"agency_id": "tendring-cab"},
                    expires_at=datetime.now(UTC) + timedelta(days=1),
                )
                other_purpose = sign_link(
                    LINK_KEYS, ask.subject(), purpose=TRACK_PURPOSE, expires=ask.expires_at
                )
                assert (await site.get(f"/partner/{other_purpose}")).status == 404
                expired = sign_link(
                    LINK_KEYS,
                    ask.subject(),
                    purpose=PARTNER_ACTION_PURPOSE,
                    expires=datetime.now(UTC) - timedelta(minutes=1),
                )
                gone = await site.get(f"/partner/{expired}")
                assert gone.status == 410
                assert "This link has expired" in await gone.text()
                assert "The next reminder brings a new one" in await gone.text()

                # The POST needs the form's token, which only the link's page holds.
                assert (await site.post(cab_link, data=CAB_COMMITMENT)).status == 403
                assert (
                    await site.post(police_link, data={**CAB_COMMITMENT, "csrf_token": token})
                ).status == 403

                bad = {**CAB_COMMITMENT, "signed_by": "", "csrf_token": token}
                refused = await site.post(cab_link, data=bad)
                assert refused.status == 422
                assert summary_links(await refused.text()) == ["f-signed_by"]

                # It acts for the link's partner only, whatever the form says.
                good = {**CAB_COMMITMENT, "agency_id": "essex-police", "csrf_token": token}
                done = await site.post(cab_link, data=good, allow_redirects=False)
                assert done.status == 303, await done.text()
                thanks = await (await site.get(done.headers["Location"])).text()
                assert "Thank you" in thanks
                assert "recorded for Tendring Citizens Advice" in thanks
                await idle(handle)
                state = await handle.query(PartnershipWorkflow.state)
                assert state.partner("tendring-cab").commitment is not None  # type: ignore[union-attr]
                assert state.partner("essex-police").commitment is None  # type: ignore[union-attr]

                # Done with: the link no longer opens the form, nor acts again.
                used = await site.get(cab_link)
                assert used.status == 410
                assert "Tendring Citizens Advice has already committed" in await used.text()
                again = await site.post(cab_link, data={**CAB_COMMITMENT, "csrf_token": token})
                assert again.status == 410
                police_form = await site.get(police_link)
                assert police_form.status == 200
        finally:
            with contextlib.suppress(RPCError):
                await handle.terminate()
