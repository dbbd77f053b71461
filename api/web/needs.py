"""The co-ordinator's queue page: every unallocated need, with a form for each action of
:data:`api.referrals.needs.NEED_ACTIONS` (the same Updates as the API)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from api.http.state import SESSIONS
from api.referrals.needs import NEED_ACTIONS, NeedActionSpec, act_on_need, form_body
from api.web.pages import PageCall, PageTable, render, require_form
from domain.access import Action
from domain.referral import ConsentMethod
from store.unallocated import unallocated_queue

pages = PageTable()


@pages.page(
    "GET",
    "/needs/unallocated",
    summary="The co-ordinator's queue of unallocated needs",
    action=Action.WORK_UNALLOCATED,
)
async def queue(call: PageCall) -> web.StreamResponse:
    """Every unallocated need: why it was not placed, how long it has waited, and its actions."""
    now = datetime.now(UTC)
    return render(
        call,
        "needs.html",
        needs=await unallocated_queue(call.request.app[SESSIONS], now=now),
        methods=list(ConsentMethod),
        done=call.request.query.get("done", ""),
    )


def _form_page(spec: NeedActionSpec) -> Callable[[PageCall], Awaitable[web.StreamResponse]]:
    async def page(call: PageCall) -> web.StreamResponse:
        form = await require_form(call)
        number, need_id = call.request.match_info["number"], call.request.match_info["need_id"]
        try:
            body = form_body(spec, form)
        except ValidationError as exc:
            message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise web.HTTPUnprocessableEntity(reason=f"check the form: {message}") from None
        assert call.user is not None
        actor = call.user.principal.subject
        view = await act_on_need(call.request.app, actor, spec, number, need_id, body)
        state = next(n.state.value for n in view.needs if n.need_id == need_id)
        done = f"{number} {need_id}: {state}"
        raise web.HTTPSeeOther("/needs/unallocated?" + urlencode({"done": done}))

    page.__name__ = page.__qualname__ = f"{spec.path}_need_form"
    page.__doc__ = spec.doc
    return page


for _spec in NEED_ACTIONS:
    pages.page(
        "POST",
        f"/needs/{{number}}/{{need_id}}/{_spec.path}",
        summary=_spec.summary,
        action=Action.WORK_UNALLOCATED,
    )(_form_page(_spec))
