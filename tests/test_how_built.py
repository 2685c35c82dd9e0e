"""The how-built page in a real browser: the table fits at 1280 px without breaking a
name, and the training curves are there, with their data and code."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_table_fits_and_curves_show(browser: Any, server: str, scheme: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  color_scheme=scheme)
    try:
        page = context.new_page()
        page.goto(server + "/how-built/")
        table = page.locator(".li-build-table table")
        # Material wraps tables in a scrolling box: the table itself never reports
        # overflow, so compare it with the text column.
        fits = table.evaluate("t => t.getBoundingClientRect().right <= "
                              "t.closest('article').getBoundingClientRect().right + 1")
        assert fits, "the table scrolls sideways at 1280 px"
        names = page.locator(".li-build-table code.li-nowrap")
        assert names.count() >= 4
        lines = names.evaluate_all("els => els.map(e => e.getClientRects().length)")
        assert lines == [1] * names.count(), "an experiment name wraps"
        for cell in page.locator(".li-build-table td:last-child").all_inner_texts():
            assert cell.strip() in ("沿用缓存", "重新训练")
        fig = page.locator("#fig-training-curves")
        shown = fig.locator(f'img[src*="training-curves.{scheme}."]')
        shown.scroll_into_view_if_needed()
        # Lazy-loaded: it has no height until its file has arrived.
        page.wait_for_function(
            "s => { const i = document.querySelector(s); "
            "return i && i.complete && i.naturalWidth > 0; }",
            arg=f'#fig-training-curves img[src*="training-curves.{scheme}."]')
        assert shown.is_visible()
        assert shown.evaluate("i => i.complete && i.naturalWidth > 0")
        assert fig.locator("a.li-data-link").get_attribute("href") == \
            "../figures/training-curves.csv"
        assert fig.locator(".li-figure-source").inner_text().startswith("数据 · 代码")
    finally:
        context.close()
