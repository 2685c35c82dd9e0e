"""Material's search, in a real browser, finds Chinese words."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("query,chapter", [("混淆矩阵", "confusion/"), ("隐藏层", "hidden/"),
                                           ("模板", "weights/")])
def test_search_finds_the_chapter(browser: Any, server: str, query: str, chapter: str) -> None:
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []
    page.route(lambda url: not url.startswith(server + "/"),
               lambda route: (outside.append(route.request.url), route.abort()))
    try:
        with page.expect_response(lambda r: "search_index.json" in r.url):
            page.goto(server + "/")
        box = page.locator("input[data-md-component=search-query]")
        box.click()
        box.press_sequentially(query, delay=30)
        # Material searches on keyup; typed CJK text (like an IME commit) arrives as
        # input events, so finish with a key a reader would press anyway.
        box.press("End")
        first = page.locator(".md-search-result__item a").first
        first.wait_for(timeout=15_000)
        links = page.locator(".md-search-result__item a").evaluate_all(
            "els => els.map(e => e.getAttribute('href'))")
        assert any(chapter in href for href in links), links
        assert not outside, f"search reached outside the site: {outside}"
    finally:
        context.close()
