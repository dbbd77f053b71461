"""The review spreadsheet stores partners' text as text, never as formulas."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from api.partnership_report import review_xlsx
from domain.partnership import RecordIndicatorActual, StartReview, apply
from domain.review import build_report
from tests.helpers import partnership_scenario as sc
from tests.unit.test_partnership import T0, implementing, run

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
