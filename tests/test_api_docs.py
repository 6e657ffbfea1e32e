"""The API documentation works without internet (a school's intranet, a network where the usual CDN is
unreachable): /docs (Swagger UI) and /redoc (ReDoc) render every operation in a real chromium whose
every request to another host is aborted, and none was needed. The data team, signed in, lands on a
page of its own (the model, imports, exports) that leads to the documentation.

The browser and the served app are test_pages.py's (Debian's chromium driven by Playwright, uvicorn
on loopback)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from playwright.sync_api import Page, Route, expect

from service.auth import create_user
from tests.browser import PASSWORD, Site, accessible, sign_in

LOCAL = {"127.0.0.1", "localhost"}


def _offline(page: Page) -> tuple[list[str], list[str]]:
    """Abort every request that leaves this machine; return (the aborted addresses, the page's errors
    about its content security policy or failed loads), both filled in as the page runs."""
    aborted: list[str] = []
    errors: list[str] = []

    def handle(route: Route) -> None:
        if urlparse(route.request.url).hostname in LOCAL or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort("internetdisconnected")

    page.context.route("**/*", handle)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    return aborted, errors


def test_swagger_ui_renders_every_operation_with_the_network_off(page: Page, site: Site) -> None:
    aborted, errors = _offline(page)
    page.goto(f"{site.base}/docs")
    tonight = page.locator(".opblock", has_text="/v1/students/{student_id}/tonight")
    expect(tonight.first).to_be_visible(timeout=30_000)
    paths = [p for p in page.request.get(f"{site.base}/openapi.json").json()["paths"] if p.startswith("/v1/")]
    assert page.locator(".opblock").count() >= len(paths) > 20
    expect(page.locator(".opblock", has_text="/v1/items/{item_id}").first).to_be_visible()
    tonight.first.locator(".opblock-summary").click()  # open it: its parameters and answer are described
    expect(tonight.first.locator(".parameters")).to_contain_text("night")
    assert aborted == [], f"the documentation needed another host: {aborted}"
    assert not [e for e in errors if "Content Security Policy" in e or e.startswith("failed")], errors


def test_redoc_renders_the_operations_with_the_network_off(page: Page, site: Site) -> None:
    aborted, errors = _offline(page)
    page.goto(f"{site.base}/redoc")
    expect(page.get_by_role("heading", name=re.compile("jianfu")).first).to_be_visible(timeout=30_000)
    expect(page.locator("[data-section-id^='operation/']").first).to_be_attached(timeout=30_000)
    assert page.locator("[data-section-id^='operation/']").count() > 20
    assert aborted == [], f"the documentation needed another host: {aborted}"
    # ReDoc's bundle asks its CDN for the small "API docs by Redocly" logo and hides it when that fails:
    # the page's policy stops it before it leaves (so nothing was aborted above); nothing else may fail.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert not [
        e for e in errors if ("Content Security Policy" in e or e.startswith("failed")) and logo not in e
    ], errors


def test_the_data_team_lands_on_its_own_page(page: Page, site: Site) -> None:
    create_user(site.engine, "data-1", PASSWORD, "data_team")
    sign_in(page, site, "data-1", "/")
    expect(page).to_have_url(re.compile(r"/data$"))
    expect(page.get_by_role("heading", name="数据组", exact=True)).to_be_visible()
    expect(page.locator("#model-version")).to_contain_text("正在使用 jianfu 第")  # the model being served
    expect(page.get_by_role("heading", name="导入")).to_be_visible()
    download = page.get_by_role("link", name=re.compile("作答记录"))
    expect(download).to_have_attribute("href", "/data/exports/attempts.csv")
    csv = page.request.get(f"{site.base}/data/exports/attempts.csv")
    assert csv.ok and csv.text().startswith("student,class_id,item_id")
    assert "stu-" not in csv.text()  # students as keyed hashes
    accessible(page)
    page.get_by_role("link", name=re.compile("Swagger UI")).click()
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
