"""Charts drawn on the server as SVG with pygal: no browser, no JavaScript.

Each chart is served as an image from its own route (``<img>`` runs no script and keeps the
page's content security policy strict); every page that shows one also prints its figures
as a table. A chart comes in two sizes: ``wide`` for desktops and ``narrow`` (fewer labels,
the legend below) for phones, chosen by the page's ``<picture>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pygal
from aiohttp import web
from pygal.style import Style

from api.http.state import SESSIONS
from api.web.pages import PageCall, PageTable
from domain.access import Action
from domain.indicators import TOLERANCE, Direction, Indicator, Rag, rag
from domain.labels import SOURCE_NAMES, money
from domain.trends import MonthOfAnswers, WeekOfReferrals
from domain.waiting import Party, WaitingLine, due_soon_until
from store.referral_stats import agency_names
from store.trends import answers_by_month, referrals_by_week
from store.waiting import waiting_lines

pages = PageTable()

RED, AMBER, GREEN, BLUE, GREY, INK = (
    "#b10e1e",
    "#8a4b00",
    "#00703c",
    "#1d70b8",
    "#6f777b",
    "#0b0c0c",
)
PALE_AMBER = "#f3c89b"
RAG_COLOURS = {Rag.GREEN: GREEN, Rag.AMBER: AMBER, Rag.RED: RED}
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
_SCRIPT = re.compile(r"<script.*?</script>", re.S)


def _style(colours: Sequence[str]) -> Style:
    return Style(
        background="#ffffff",
        plot_background="#ffffff",
        foreground=INK,
        foreground_strong=INK,
        foreground_subtle="#b1b4b6",
        colors=tuple(colours),
        font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
        title_font_size=26,
        label_font_size=20,
        major_label_font_size=20,
        legend_font_size=20,
        value_font_size=18,
        tooltip_font_size=18,
        opacity="0.95",
        opacity_hover="1",
    )


def _config(narrow: bool, title: str, colours: Sequence[str], **more: Any) -> dict[str, Any]:
    return {
        "title": title,
        "style": _style(colours),
        "width": 480 if narrow else 1000,
        "height": 560 if narrow else 460,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": 1 if narrow else 2,
        "js": [],
        "disable_xml_declaration": True,
        "truncate_legend": -1,
        "truncate_label": -1,
        "print_zeroes": False,
        "margin_right": 40,
        **more,
    }


def _svg(chart: Any, description: str) -> str:
    """The rendered chart without pygal's script, with a ``<desc>`` for assistive tools."""
    text = _SCRIPT.sub("", chart.render(is_unicode=True))
    desc = f"<desc>{_escape(description)}</desc>"
    return re.sub(r"(<svg[^>]*>)", lambda m: m.group(1) + desc, text, count=1)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def referrals_chart(weeks: list[WeekOfReferrals], *, narrow: bool) -> str:
    """Referrals received per week by source, stacked."""
    chart = pygal.StackedBar(
        **_config(
            narrow,
            "Referrals per week by source",
            (BLUE, GREEN, AMBER),
            x_labels_major_every=6 if narrow else 4,
            show_minor_x_labels=False,
            x_label_rotation=0,
            # One legend row when wide: pygal underestimates a row at this font size.
            legend_at_bottom_columns=1 if narrow else 3,
            y_labels=_whole_steps(max((sum(w.by_source.values()) for w in weeks), default=0)),
        )
    )
    chart.x_labels = [w.week.strftime("%d %b") for w in weeks]
    for source, name in SOURCE_NAMES.items():
        chart.add(name, [w.by_source.get(source, 0) for w in weeks])
    total = sum(sum(w.by_source.values()) for w in weeks)
    return _svg(chart, f"{total} referrals in {len(weeks)} weeks, by source, week by week.")


def open_legs_chart(lines: list[WaitingLine], *, narrow: bool) -> str:
    """Open legs by agency and state, stacked; breached in red."""
    agencies: dict[str, dict[str, int]] = {}
    for line in lines:
        if line.party is not Party.AGENCY:
            continue
        bars = agencies.setdefault(
            line.name, {"breached": 0, "soon": 0, "in_time": 0, "outcome": 0}
        )
        if line.work.startswith("outcomes"):
            bars["outcome"] += line.total
        else:
            bars["breached"] += line.breached
            bars["soon"] += line.due_soon
            bars["in_time"] += line.total - line.breached - line.due_soon
    names = sorted(agencies, key=lambda n: (-sum(agencies[n].values()), n))[:15]
    widest = max((sum(agencies[n].values()) for n in names), default=0)
    chart = pygal.HorizontalStackedBar(
        **_config(
            narrow,
            "Open referrals by agency and state",
            (RED, AMBER, BLUE, GREY),
            # The legend sits under the bars, right of the long agency names: one column,
            # with room for its four rows.
            height=(380 if narrow else 340) + 56 * max(len(names), 1),
            legend_at_bottom_columns=1,
            y_labels=_whole_steps(widest),
        )
    )
    # On a phone a long agency name would push the bars off the chart; the full names are
    # in the table beneath it.
    chart.x_labels = [_shortened(n, 16) for n in names] if narrow else names
    for key, label in (
        ("breached", "Breached"),
        ("soon", "Due in a working day" if narrow else "Due within a working day"),
        ("in_time", "To answer, in time"),
        ("outcome", "Outcome to record"),
    ):
        chart.add(label, [agencies[n][key] for n in names])
    breached = sum(a["breached"] for a in agencies.values())
    return _svg(chart, f"Open referrals for {len(agencies)} agencies; {breached} breached.")


def answer_times_chart(months: list[MonthOfAnswers], who: str, *, narrow: bool) -> str:
    """Median and 90th percentile working days to answer, month by month."""
    chart = pygal.Line(
        **_config(
            narrow,
            f"Working days to answer: {who}",
            (BLUE, RED),
            dots_size=6,
            stroke_style={"width": 4},
            include_x_axis=True,
        )
    )
    chart.x_labels = [m.month.strftime("%b %Y" if not narrow else "%b") for m in months]
    chart.add("Half answered within (median)", [m.median_working_days for m in months])
    chart.add("Nine in ten answered within (90th percentile)", [m.p90_working_days for m in months])
    return _svg(chart, f"Median and 90th percentile working days to answer, {who}, by month.")


def indicator_chart(indicator: Indicator, *, narrow: bool) -> str:
    """An indicator's actuals against its baseline and target, with the RAG bands: beyond
    the line 10 % short of the target is green; short of it, amber if improving, else red."""
    actuals = sorted(indicator.actuals, key=lambda a: a.at)
    higher = indicator.direction is Direction.HIGHER_IS_BETTER
    edge = indicator.target * (1 - TOLERANCE if higher else 1 + TOLERANCE)
    status = rag(indicator)
    chart = pygal.Line(
        **_config(
            narrow,
            indicator.name,
            (PALE_AMBER, GREEN, GREY, RAG_COLOURS[status] if status else INK),
            dots_size=8,
            include_x_axis=True,
            margin_right=70,
            value_formatter=lambda v: money(v, indicator.unit),
        )
    )
    chart.x_labels = ["baseline", *(a.at.strftime("%d %b %y") for a in actuals)]
    n = len(chart.x_labels)
    # Short of the edge is amber or red (filled down to zero when higher is better; when
    # lower is better the edge is drawn as a line, the band being above it).
    chart.add(
        "Amber or red: over 10 % short" if higher else "Amber or red above this line",
        [edge] * n,
        fill=higher,
        show_dots=False,
        stroke_style={"width": 3, "dasharray": "3,6"},
    )
    chart.add(
        "Target",
        [indicator.target] * n,
        show_dots=False,
        stroke_style={"width": 4, "dasharray": "16,8"},
    )
    chart.add(
        "Baseline",
        [indicator.baseline] * n,
        show_dots=False,
        stroke_style={"width": 3, "dasharray": "6,10"},
    )
    chart.add(
        f"Actual: {status.value if status else 'none yet'}",
        [indicator.baseline, *(a.value for a in actuals)],
        stroke_style={"width": 6},
    )
    latest = money(actuals[-1].value, indicator.unit) if actuals else "no actual yet"
    return _svg(
        chart,
        f"{indicator.name}: baseline {money(indicator.baseline, indicator.unit)}, target "
        f"{money(indicator.target, indicator.unit)}, latest {latest}"
        + (f", {status.value}" if status else "")
        + ".",
    )


def _shortened(name: str, most: int = 18) -> str:
    return name if len(name) <= most else name[: most - 1].rstrip() + "…"


def _whole_steps(top: int) -> list[int]:
    """Axis labels at whole numbers, about five of them: counts have no fractions."""
    step = max(1, -(-top // 5))
    return list(range(0, top + step + 1, step))


def svg_response(svg: str) -> web.Response:
    """An SVG image that may style itself but load and run nothing."""
    response = web.Response(text=svg, content_type="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    response.headers["Cache-Control"] = "private, max-age=60"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _narrow(call: PageCall) -> bool:
    return call.request.query.get("size") == "narrow"


@pages.page(
    "GET",
    "/charts/referrals-by-week.svg",
    summary="Chart: referrals per week by source",
    action=Action.READ_STATISTICS,
)
async def referrals_by_week_svg(call: PageCall) -> web.StreamResponse:
    """The last 26 weeks' referrals by source."""
    weeks = await referrals_by_week(call.request.app[SESSIONS], now=datetime.now(UTC))
    return svg_response(referrals_chart(weeks, narrow=_narrow(call)))


@pages.page(
    "GET",
    "/charts/open-referrals.svg",
    summary="Chart: open referrals by agency and state",
    action=Action.READ_STATISTICS,
)
async def open_referrals_svg(call: PageCall) -> web.StreamResponse:
    """Open legs by agency, stacked by state, breached in red."""
    now = datetime.now(UTC)
    lines = await waiting_lines(call.request.app[SESSIONS], now=now, due_by=due_soon_until(now))
    return svg_response(open_legs_chart(lines, narrow=_narrow(call)))


@pages.page(
    "GET",
    "/charts/answer-times.svg",
    summary="Chart: working days to answer by month",
    action=Action.READ_STATISTICS,
)
async def answer_times_svg(call: PageCall) -> web.StreamResponse:
    """Median and 90th percentile working days to answer over six months, for the agency
    named by ``agency`` or every agency."""
    sessions = call.request.app[SESSIONS]
    agency = call.request.query.get("agency") or None
    names = await agency_names(sessions)
    if agency is not None and agency not in names:
        raise web.HTTPNotFound(reason=f"no agency {agency}")
    months = await answers_by_month(sessions, now=datetime.now(UTC), agency_id=agency)
    who = names[agency] if agency else "every agency"
    return svg_response(answer_times_chart(months, who, narrow=_narrow(call)))
