"""The public signposting website under ``/find/``: residents find services and refer
themselves, with no sign-in. Server-rendered in the GOV.UK Design System's patterns."""

from __future__ import annotations

from aiohttp import web

from api.find import finder, journey, tracking
from api.find.site import FINDER, STATIC, FinderCache, Visit, not_found, page

PAGE_ROUTES: tuple[web.RouteTableDef, ...] = (finder.routes, journey.routes, tracking.routes)


def add_website(app: web.Application) -> None:
    """Register every page of the website and its assets on ``app``."""
    app[FINDER] = FinderCache()
    for table in PAGE_ROUTES:
        for route in table:
            assert isinstance(route, web.RouteDef)
            app.router.add_route(
                route.method,
                route.path,
                route.handler,
                name=f"page.find.{getattr(route.handler, '__name__', route.path)}",
            )
    app.router.add_get("/find/assets/{path:.+}", find_asset, name="static.find")
    # Last: any other address under /find/ is the website's own page, never the API's JSON.
    app.router.add_get("/find/{rest:.*}", unknown_page, name="page.find.unknown")


# The website's own files, listed once: a name not on the list is a 404, never a path outside.
ASSETS = frozenset(
    str(p.relative_to(STATIC)) for p in STATIC.rglob("*") if p.is_file() and p.suffix != ".txt"
) | {"govuk/LICENSE.txt"}


async def find_asset(request: web.Request) -> web.StreamResponse:
    """One of the website's CSS, JavaScript or licence files."""
    path = request.match_info["path"]
    if path not in ASSETS:
        raise web.HTTPNotFound(text="no such file")
    response = web.FileResponse(STATIC / path)
    response.headers["Cache-Control"] = "max-age=3600"
    return response


@page
async def unknown_page(request: web.Request, visit: Visit) -> web.StreamResponse:
    """An address under ``/find/`` that is no page of the website."""
    return await not_found(request, visit)
