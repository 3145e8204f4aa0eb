"""The page's account picker and Accounts view in real headless Chromium, against the mock as a real process."""

from __future__ import annotations

import base64

from playwright.sync_api import Browser, Page, expect

from .browser import Api, MockProcess
from .support import sms
from .test_web_page import TOKEN, api, browser, open_page, server  # noqa: F401  (the page tests' fixtures)


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:s3cr3t".encode()).decode()}


def test_the_picker_scopes_the_page_and_the_accounts_view_lists_applications(browser: Browser,  # noqa: F811
                                                                               server: MockProcess,  # noqa: F811
                                                                               api: Api) -> None:  # noqa: F811
    app = api.ok("POST", "/v2/applications", {"name": "shop", "capabilities": {"messages": {"version": "v1",
                 "webhooks": {"status_url": {"address": "http://127.0.0.1:9/shop/status"}}}}}, basic("page-a"))
    mine = api.ok("POST", "/beta/messages", sms(to="447700900101"), basic("page-a"))["message_uuid"]
    theirs = api.ok("POST", "/beta/messages", sms(to="447700900202"), basic("page-b"))["message_uuid"]
    errors: list[str] = []
    page: Page = open_page(browser, server, errors)
    try:
        page.get_by_role("button", name="SMS conversation with 447700900101").click()
        expect(page.locator(f'.bubble[data-uuid="{mine}"] .account-tag')).to_have_text("page-a")  # two accounts shown

        page.get_by_role("button", name="Accounts", exact=True).click()
        row = page.locator('#account-rows tr[data-account="page-a"]')
        expect(row.locator("td").nth(1)).to_have_text("1")
        expect(row.locator(".applications li")).to_contain_text(app["id"])
        expect(row.locator(".applications li")).to_contain_text("status → http://127.0.0.1:9/shop/status")

        page.locator("#account-picker").select_option("page-b")
        page.wait_for_url("**account=page-b**")
        expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=20_000)  # a reload
        expect(page.get_by_role("button", name="SMS conversation with 447700900202")).to_be_visible()
        expect(page.get_by_role("button", name="SMS conversation with 447700900101")).to_have_count(0)
        page.get_by_role("button", name="SMS conversation with 447700900202").click()
        expect(page.locator(f'.bubble[data-uuid="{theirs}"]')).to_be_visible()
        expect(page.locator(f'.bubble[data-uuid="{theirs}"] .account-tag')).to_have_count(0)  # one account: no label

        page.locator("#account-picker").select_option("")
        page.wait_for_url(lambda url: "account=" not in url)
        expect(page.get_by_role("button", name="SMS conversation with 447700900101")).to_be_visible()
        assert errors == [], errors
    finally:
        page.context.close()
