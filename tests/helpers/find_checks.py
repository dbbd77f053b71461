"""Checks every page of the public website passes in the browser: axe-core (WCAG 2.2 AA) with
no violations, no horizontal scrolling, targets of at least 24 by 24 CSS pixels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import axe_playwright_python
from playwright.async_api import Page

from tests.browser.conftest import screenshot

# axe-core as the PyPI package ships it: nothing is fetched when the tests run.
AXE_SOURCE = Path(axe_playwright_python.__file__).with_name("axe.min.js").read_text()
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

_TARGETS = """() => {
  const small = [];
  for (const el of document.querySelectorAll(
      'button, input:not([type=hidden]), select, textarea, summary, a.govuk-button,'
      + ' .govuk-pagination__link, .govuk-header__link, .govuk-back-link')) {
    if (el.closest('.find-honeypot')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown
    // Radios and checkboxes are drawn larger than the native input they style.
    const target = el.matches('.govuk-radios__input, .govuk-checkboxes__input')
      ? el.parentElement.getBoundingClientRect() : box;
    if (target.width < 24 || target.height < 24)
      small.push(`${el.tagName} ${el.id || el.textContent.trim().slice(0, 30)}`
                 + ` ${Math.round(target.width)}x${Math.round(target.height)}`);
  }
  return small;
}"""


# Best-practice rules checked as well: all content sits in a landmark.
BEST_PRACTICES = {"region": {"enabled": True}}


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.0-2.2 A and AA violations on the page as it is now, and those of the
    best-practice rules in ``BEST_PRACTICES``."""
    # Evaluated through the DevTools protocol, so the page's own CSP does not stop it.
    await page.evaluate(AXE_SOURCE)
    result = await page.evaluate(
        "([tags, rules]) => axe.run(document, {runOnly: {type: 'tag', values: tags}, rules})",
        [WCAG_22_AA, BEST_PRACTICES],
    )
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
    ]


async def check_page(page: Page, name: str) -> None:
    """Screenshot the page, then assert axe finds nothing, nothing scrolls sideways and every
    control is a large enough target."""
    await screenshot(page, name)
    violations = await axe_violations(page)
    assert violations == [], f"{name}: {json.dumps(violations, indent=1)}"
    widths = await page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{name} scrolls sideways: {widths}"
    small = await page.evaluate(_TARGETS)
    assert small == [], f"{name}: targets under 24x24: {small}"
