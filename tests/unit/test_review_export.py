"""The review spreadsheet stores partners' text as text, never as formulas, and sets tapered
funding against plan beside the report's other parts."""

from __future__ import annotations

import io
from datetime import date

from openpyxl import load_workbook

from api.partnership_report import review_html, review_xlsx
from domain.partnership import (
    AddFundedProject,
    RecordIndicatorActual,
    StartReview,
    SubmitQuarterlyReturn,
    apply,
)
from domain.review import build_report
from tests.helpers import partnership_scenario as sc
from tests.unit.test_partnership import T0, implementing, run
from tests.unit.test_taper import START, tapered

EVIL = '=HYPERLINK("http://evil.example","x")'


def test_formula_like_names_are_string_cells() -> None:
    state = implementing()
    for indicator_id, values in sc.ACTUALS.items():
        for value in values:
            state = apply(state, RecordIndicatorActual(indicator_id=indicator_id, value=value), T0)
    report = build_report(run(state, [StartReview()]), T0, meetings_due=0)
    first = report.indicators[0].model_copy(update={"name": EVIL, "unit": "@SUM(A1)"})
    project = report.projects[0].model_copy(update={"name": "+1+1"})
    report = report.model_copy(
        update={
            "indicators": [first, *report.indicators[1:]],
            "projects": [project, *report.projects[1:]],
        }
    )
    book = load_workbook(io.BytesIO(review_xlsx(report)))
    name, unit = book["Indicators"]["A2"], book["Indicators"]["B2"]
    assert (name.value, name.data_type) == (EVIL, "s")
    assert (unit.value, unit.data_type) == ("@SUM(A1)", "s")
    assert (book["Projects"]["A2"].value, book["Projects"]["A2"].data_type) == ("+1+1", "s")
    numbers = book["Indicators"]["F2"]
    assert isinstance(numbers.value, int | float)  # numbers stay numbers
    formulas = [
        c for s in book.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"
    ]
    assert formulas == []


def test_tapered_funding_against_plan_is_a_sheet_and_a_section() -> None:
    state = apply(implementing(START), AddFundedProject(project=tapered()), T0)
    state = apply(
        state,
        SubmitQuarterlyReturn(
            project_id="youth-diversion", quarter=5, spend_gbp=7_500, progress="ok", on_target=True
        ),
        T0,
    )
    report = build_report(state, T0, meetings_due=0)
    rows = list(load_workbook(io.BytesIO(review_xlsx(report)))["Funding against plan"].values)
    assert rows[0] == (
        "Project",
        "Year starting",
        "Year ending",
        "Share (%)",
        "Planned (GBP)",
        "Spent (GBP)",
    )
    assert [r[3:] for r in rows[1:]] == [
        (100, 40_000, 0),
        (75, 30_000, 7_500),
        (50, 20_000, 0),
        (25, 10_000, 0),
    ]
    assert rows[2][1].date() == date(2028, 4, 1)
    projects = list(load_workbook(io.BytesIO(review_xlsx(report)))["Projects"].values)
    assert projects[-1][:3] == ("Youth diversion", 100_000, 7_500)  # all years planned
    html = review_html(report, nonce="n")
    assert "<h2>Funding against plan</h2>" in html
    assert "<h3>Youth diversion</h3>" in html
    assert "no plan for mainstreaming or exit yet" in html
    # All of it inside a landmark, so a screen reader's user can jump to it.
    assert html.index("<main>") < html.index("<h1>") < html.index("</main>")
