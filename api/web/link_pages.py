"""What the pages opened from signed links share (an agency's referral links, a partner's
partnership links): the check of a posted form's token, and the calm failure a link that
cannot be used gets."""

from __future__ import annotations

import hmac
from typing import Any

from multidict import MultiDictProxy

from api.web.pages import PageCall


class LinkFailed(Exception):
    """The link cannot be used; ``status`` and the words of the calm page that says so."""

    def __init__(self, status: int, heading: str, message: str) -> None:
        super().__init__(message)
        self.status, self.heading, self.message = status, heading, message


def form_not_sent() -> LinkFailed:
    """A POST without its page's token: nothing changes."""
    return LinkFailed(
        403,
        "This form could not be sent",
        "Nothing was changed. Open the link in your email again and use the page it shows.",
    )


async def link_form(call: PageCall, expected: str) -> MultiDictProxy[Any] | None:
    """The form posted to a page opened from a signed link, if it carries that page's CSRF
    token (``expected``); ``None`` when it does not, and then nothing may change."""
    posted = await call.request.post()
    sent = posted.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        return None
    return posted
