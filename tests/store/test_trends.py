"""The charts' counts over time: referrals per week by source, answer times per month."""

from datetime import UTC, datetime, timedelta

from api.web.charts import indicator_chart, open_legs_chart, referrals_chart
from domain.indicators import Actual, Indicator
from domain.trends import month_starts, week_starts
from domain.waiting import Party, WaitingLine
from store.db import Sessions
from store.schema import ReferralLegRow
from store.trends import answers_by_month, referrals_by_week
from tests.store.test_waiting import _leg, _referral

# Wednesday 25 November 2026, noon.
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def test_periods_start_on_mondays_and_first_days_in_uk_time() -> None:
    weeks = week_starts(NOW, 3)
    assert [w.strftime("%a %d %b %H:%M") for w in weeks] == [
        "Mon 09 Nov 00:00",
        "Mon 16 Nov 00:00",
        "Mon 23 Nov 00:00",
    ]
    assert [m.strftime("%d %b %Y") for m in month_starts(NOW, 3)] == [
        "01 Sep 2026",
        "01 Oct 2026",
        "01 Nov 2026",
    ]


async def test_referrals_per_week_by_source_and_answers_per_month(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        for n, (days_ago, source) in enumerate(
            [
                (0, "reach_out"),
                (1, "reach_out"),
                (2, "web_signposting"),
                (9, "agency"),
                (400, "agency"),
            ]
        ):
            row = _referral(f"R{n}")
            row.source, row.created_at = source, NOW - timedelta(days=days_ago)
            session.add(row)
        await session.flush()
        for n, (answered_ago, days) in enumerate([(1, 0.5), (2, 1.0), (3, 4.0), (40, 2.0)]):
            leg: ReferralLegRow = _leg(f"R{n}", "cab", "accepted", timedelta(days=1))
            leg.answered_at, leg.answer_working_days = NOW - timedelta(days=answered_ago), days
            session.add(leg)
    weeks = await referrals_by_week(sessions, now=NOW, weeks=26)
    assert len(weeks) == 26
    assert weeks[-1].by_source == {"reach_out": 2, "web_signposting": 1, "agency": 0}
    assert weeks[-2].by_source["agency"] == 1
    assert sum(sum(w.by_source.values()) for w in weeks) == 4  # the 400-day-old one is out
    months = await answers_by_month(sessions, now=NOW, agency_id="cab", months=6)
    assert (months[-1].answered, months[-1].median_working_days, months[-1].p90_working_days) == (
        3,
        1.0,
        4.0,
    )
    assert months[-2].answered == 1
    assert (await answers_by_month(sessions, now=NOW, agency_id="police"))[-1].answered == 0


def test_charts_are_svg_with_a_description_and_no_script() -> None:
    weeks_svg = referrals_chart([], narrow=False)
    line = WaitingLine(
        party=Party.AGENCY,
        who="cab",
        name="Citizens Advice",
        work="referrals to accept",
        total=3,
        breached=1,
        link="/",
    )
    legs_svg = open_legs_chart([line], narrow=True)
    indicator = Indicator(
        id="awards",
        name="Benefit awards",
        unit="GBP",
        baseline=0,
        target=100_000,
        actuals=[Actual(value=285_360, at=NOW)],
    )
    awards_svg = indicator_chart(indicator, narrow=False)
    for svg in (weeks_svg, legs_svg, awards_svg):
        assert svg.startswith("<svg")
        assert "<script" not in svg
        assert "<desc>" in svg
        assert "<title>" in svg
    assert "Citizens Advice" in legs_svg
    assert "Breached" in legs_svg
    assert "£285,360" in awards_svg
    assert "Actual: green" in awards_svg


def test_counts_are_whole_on_the_axis_and_long_names_fit_a_phone() -> None:
    from domain.trends import WeekOfReferrals

    weeks = [
        WeekOfReferrals(week=start, by_source={"reach_out": 2} if i == 2 else {})
        for i, start in enumerate(week_starts(NOW, 3))
    ]
    svg = referrals_chart(weeks, narrow=False)
    # A count of two is drawn on 0, 1, 2..., never on 0.2, 0.4...
    assert ">0.2<" not in svg
    assert ">1<" in svg
    long_name = WaitingLine(
        party=Party.AGENCY,
        who="tdc-housing",
        name="Tendring District Council Housing Services",
        work="referrals to accept",
        total=1,
        link="/",
    )
    phone = open_legs_chart([long_name], narrow=True)
    assert "Tendring District Council Housing Services" not in phone
    assert "Tendring Distri…" in phone
    assert "Tendring District Council Housing Services" in open_legs_chart(
        [long_name], narrow=False
    )
