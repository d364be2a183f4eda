"""The API's readable docs in Debian's Chromium: Swagger UI from the app's own files, under the CSP."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_docs_render_every_operation_without_a_cdn(live_server, page):
    base_url, _app = live_server
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{base_url}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Linghang" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-summary-path")
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/api/v1/activities", "/api/v1/activities/{activity_id}", "/api/v1/venues"} <= {p.replace("\u200b", "") for p in paths}
    page.locator(".opblock-summary-path", has_text="/api/v1/errors").first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute").click()
    status = page.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert errors == []
    assert requested and all(url.startswith(base_url) for url in requested), requested
