"""The review report exported as an HTML page and as a spreadsheet (one sheet per part)."""

from __future__ import annotations

import io
from pathlib import Path

import jinja2
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from domain.review import ReviewReport

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_FILLS = {
    "green": PatternFill("solid", fgColor="CCE2D8"),
    "amber": PatternFill("solid", fgColor="FFF7BF"),
    "red": PatternFill("solid", fgColor="F6D7D2"),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _as_text(sheet: Worksheet) -> None:
    # openpyxl makes any string starting with "=" a formula; names and notes are the
    # partners' text, so every string cell is stored as a string (OWASP CSV injection).
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"


def review_html(report: ReviewReport, *, nonce: str) -> str:
    """The report as a standalone HTML page; its inline style carries the CSP ``nonce``."""
    return _env.get_template("partnership_review.html").render(r=report, nonce=nonce)


def review_xlsx(report: ReviewReport) -> bytes:
    """The report as an .xlsx workbook: indicators, actions, projects, tapered funding against
    plan, value for money, health."""
    book = Workbook()
    bold = Font(bold=True)
    ind = book.active
    assert ind is not None
    ind.title = "Indicators"
    ind.append(["Indicator", "Unit", "Direction", "Baseline", "Target", "Actual", "RAG"])
    for i in report.indicators:
        rag = i.rag.value if i.rag else "not measured"
        ind.append([i.name, i.unit, i.direction.value, i.baseline, i.target, i.latest, rag])
        if i.rag:
            ind.cell(row=ind.max_row, column=7).fill = _FILLS[i.rag.value]
    acts = book.create_sheet("Actions")
    acts.append(["Total", "Done", "Overdue", "Open", "Overdue actions"])
    a = report.actions
    acts.append([a.total, a.done, len(a.overdue), a.open, ", ".join(a.overdue)])
    projects = book.create_sheet("Projects")
    projects.append(["Project", "Funding (GBP)", "Spend (GBP)", "Deadline", "Returns", "Slipped"])
    for p in report.projects:
        projects.append(
            [
                p.name,
                p.planned_gbp,
                p.spend_gbp,
                p.deadline,
                p.returns,
                "yes" if p.slipped else "no",
            ]
        )
    by_year = book.create_sheet("Funding against plan")
    by_year.append(
        ["Project", "Year starting", "Year ending", "Share (%)", "Planned (GBP)", "Spent (GBP)"]
    )
    for p in report.projects:
        for y in p.funding_by_year:
            by_year.append(
                [p.name, y.year_starting, y.year_ending, y.percent, y.planned_gbp, y.spent_gbp]
            )
    vfm = book.create_sheet("Value for money")
    v = report.value_for_money
    for label, value in (
        ("Benefits from indicators (GBP)", v.indicator_benefits_gbp),
        ("Other recorded benefits (GBP)", v.recorded_benefits_gbp),
        ("Total benefits (GBP)", v.benefits_gbp),
        ("Direct costs (GBP)", v.direct_costs_gbp),
        ("Officer time (GBP)", v.officer_time_cost_gbp),
        ("Total costs (GBP)", v.costs_gbp),
        ("Indirect costs, not priced in (GBP)", v.indirect_costs_gbp),
        ("Opportunity costs, not priced in (GBP)", v.opportunity_costs_gbp),
        ("Benefit per GBP of cost", v.ratio),
        ("Good value", "yes" if v.good_value else "no"),
    ):
        vfm.append([label, value])
    health = book.create_sheet("Health")
    health.append(["Measure", "Value", "RAG"])
    for h in report.health:
        health.append([h.name, h.value, h.rag.value])
        health.cell(row=health.max_row, column=3).fill = _FILLS[h.rag.value]
    for sheet in book.worksheets:
        for cell in sheet[1]:
            cell.font = bold
        _as_text(sheet)
        sheet.column_dimensions["A"].width = 42
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
