"""The public signposting website under ``/find/``: residents find services and refer
themselves, with no sign-in. Server-rendered in the GOV.UK Design System's patterns."""

from __future__ import annotations

from aiohttp import web

from api.find import finder, journey, tracking
from api.find.site import FINDER, STATIC, FinderCache

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
    app.router.add_static("/find/assets", STATIC, name="static.find")
