"""The live web page in real headless Chromium, against the mock running as a real process (with a control token)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from .browser import CHROMIUM, CHROMIUM_ARGS, ROOT, Api, MockProcess, threaded_receiver
from .support import Receiver, messenger, sms, viber, workflow

TOKEN = "page-test-token"
USER = "1234567890123456"
PAGE_ID = "9876543210"
RED = "rgb(198, 40, 40)"
READ_BLUE = "rgb(21, 101, 192)"
SCREENSHOT = ROOT / "docs" / "screenshot.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it: a missing browser there is a broken build, not a skip
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server() -> Iterator[MockProcess]:
    mock = MockProcess(TOKEN)
    mock.start()
    yield mock
    mock.stop(crash=True)


@pytest.fixture
def api(server: MockProcess) -> Api:
    client = Api(server)
    client.reset()
    return client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with threaded_receiver() as recv:
        yield recv


def open_page(browser: Browser, mock: MockProcess, errors: list[str], **context: Any) -> Page:
    page = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **context}).new_page()
    page.on("console", lambda message: _record(message, errors))
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.goto(f"{mock.url}/?token={TOKEN}")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    return page


def _record(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type in ("error", "warning"):
        errors.append(f"{message.type}: {message.text}")


@pytest.fixture
def console() -> list[str]:
    return []


@pytest.fixture
def ui(browser: Browser, server: MockProcess, api: Api, console: list[str]) -> Iterator[Page]:
    """The page, loaded before anything is sent; every test using it must leave the console clean."""
    page = open_page(browser, server, console)
    yield page
    page.context.close()
    assert console == [], console


def conversation(page: Page, channel: str, peer: str) -> Any:
    return page.get_by_role("button", name=f"{channel} conversation with {peer}")


def bubble(page: Page, uuid: str) -> Any:
    return page.locator(f'.bubble[data-uuid="{uuid}"]')


def test_a_sent_message_appears_with_one_tick_then_two_then_read(ui: Page, api: Api) -> None:
    uuid = api.send(messenger(to=USER, text="Your order has shipped"))
    conversation(ui, "Messenger", USER).click()
    ticks = bubble(ui, uuid).locator(".ticks")
    expect(bubble(ui, uuid)).to_contain_text("Your order has shipped")
    expect(ticks).to_have_attribute("data-status", "accepted")

    ui.get_by_role("button", name="Advance the clock by 1 second").click()  # submitted at 0.3 s ± 30 %
    expect(ticks).to_have_attribute("data-status", "submitted")
    expect(ticks).to_have_text("✓")
    ui.get_by_role("button", name="Advance the clock to the next event").click()
    expect(ticks).to_have_attribute("data-status", "delivered")
    expect(ticks).to_have_text("✓✓")
    expect(ticks).not_to_have_css("color", READ_BLUE)
    expect(bubble(ui, uuid).locator(".price")).to_have_text("0.0100 EUR")
    ui.get_by_role("button", name="Advance the clock to the next event").click()
    expect(ticks).to_have_attribute("data-status", "read")
    expect(ticks).to_have_text("✓✓")
    expect(ticks).to_have_css("color", READ_BLUE)


def test_a_magic_failure_shows_in_red_with_its_code(ui: Page, api: Api) -> None:
    uuid = api.send(sms(to="447700900910", text="Your code is 1234"))
    api.send(sms(to="447700900000", text="This one arrives"))
    api.advance(10)
    row = conversation(ui, "SMS", "447700900910")
    expect(row).to_have_class("conversation has-failure")
    expect(row).to_contain_text("1 failed")
    expect(conversation(ui, "SMS", "447700900000")).not_to_have_class("conversation has-failure")
    row.click()
    error = bubble(ui, uuid).locator(".error")
    expect(error).to_have_text("Error 1180: Absent Subscriber Temporary")
    expect(error).to_have_css("color", RED)
    expect(bubble(ui, uuid).locator(".ticks")).to_have_css("color", RED)
    expect(bubble(ui, uuid)).to_have_css("border-top-color", RED)
    expect(row).not_to_have_class("conversation selected has-failure")  # seen once opened


def test_a_failover_workflow_is_one_thread_with_a_visible_hop(ui: Page, api: Api) -> None:
    api.start_workflow(workflow(messenger(to="magic-never-read", text="Are you there?"),
                                sms(to="447700900000", text="Are you there? (by SMS)")))
    conversation(ui, "Messenger", "magic-never-read").click()
    expect(ui.locator(".workflow-note")).to_have_text("Failover workflow: Messenger → SMS")
    ui.get_by_role("button", name="Advance the clock by 10 minutes").click()  # the 600 s expiry
    expect(ui.locator(".hop")).to_have_text("No read in 600 s: failed over to SMS")
    ui.get_by_role("button", name="Advance the clock by 1 minute").click()
    expect(ui.locator(".workflow-end")).to_have_text("Workflow completed: delivered on SMS")
    expect(ui.locator("#thread-subtitle")).to_contain_text("failover Messenger → SMS: completed")
    bubbles = ui.locator(".bubble")
    expect(bubbles).to_have_count(2)
    expect(bubbles.nth(1).locator(".channel-tag")).to_have_text("SMS")
    expect(bubbles.nth(1).locator(".ticks")).to_have_attribute("data-status", "delivered")
    order = ui.locator("#bubbles > li").evaluate_all("nodes => nodes.map(n => n.className.split(' ')[0])")
    assert order == ["workflow-note", "bubble", "hop", "bubble", "workflow-end"]
    expect(ui.locator(".conversation")).to_have_count(1)


def test_a_reply_typed_as_the_user_fires_the_inbound_webhook(ui: Page, api: Api, receiver: Receiver) -> None:
    ui.get_by_role("button", name="Webhook URLs and settings").click()
    ui.get_by_label("Inbound webhook URL").fill(receiver.url("/inbound"))
    ui.get_by_role("button", name="Save").click()
    expect(ui.locator("#settings")).not_to_be_visible()
    assert api.ok("GET", "/_mock/config")["inbound_url"] == receiver.url("/inbound")

    api.send(messenger(to=USER, page=PAGE_ID, text="Shall we book it?"))
    conversation(ui, "Messenger", USER).click()
    ui.get_by_label("Reply as the user").fill("Yes please <b>now</b>")
    ui.get_by_label("Reply as the user").press("Enter")
    reply = ui.locator(".bubble.in")
    expect(reply.locator(".text")).to_have_text("Yes please <b>now</b>")  # shown as text, never as markup
    expect(reply.locator("b")).to_have_count(0)

    ui.get_by_role("button", name="Webhook log").click()
    row = ui.locator(".webhook-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("inbound")
    expect(row.locator(".state")).to_have_text("delivered")
    expect(row).to_contain_text("HTTP 200 in")
    [payload] = receiver.bodies("/inbound")
    assert payload["message"]["content"] == {"type": "text", "text": "Yes please <b>now</b>"}
    assert payload["from"] == {"type": "messenger", "id": USER}
    assert payload["to"] == {"type": "messenger", "id": PAGE_ID}

    ui.get_by_role("button", name="Conversations").click()
    ui.get_by_role("button", name="Send an image as the user").click()
    image = ui.locator(".bubble.in img.thumb")
    expect(image).to_be_visible()
    ui.wait_for_function("() => document.querySelector('.bubble.in img.thumb').naturalWidth > 0")
    ui.get_by_role("button", name="Send a location as the user").click()
    expect(ui.locator(".bubble.in .location")).to_contain_text("Location ")
    expect(ui.locator(".bubble.in .location a")).to_have_text("open map")
    assert len(receiver.bodies("/inbound")) == 3


def test_the_clock_mode_can_be_switched_from_the_settings(ui: Page, api: Api) -> None:
    try:
        ui.get_by_role("button", name="Webhook URLs and settings").click()
        ui.get_by_label("Clock mode", exact=True).select_option("real")
        ui.get_by_label("Time scale (real clock: wall seconds per simulated second)").fill("0.01")
        ui.get_by_role("button", name="Save").click()
        expect(ui.locator("#clock-mode")).to_have_text("real \u00d7100")
        clock = api.ok("GET", "/_mock/clock")
        assert (clock["mode"], clock["time_scale"]) == ("real", 0.01)
    finally:
        api.ok("PUT", "/_mock/config", {"clock": "manual", "time_scale": 1})


def test_a_bubble_opens_its_history_request_and_webhook_attempts(ui: Page, api: Api, receiver: Receiver) -> None:
    api.ok("PUT", "/_mock/config", {"status_url": receiver.url("/status")})
    receiver.script["/status"] = [503]  # the first attempt fails, the retry 5 s later succeeds
    uuid = api.send(sms(to="447700900000", text="Detail please"))
    api.advance(30)
    conversation(ui, "SMS", "447700900000").click()
    bubble(ui, uuid).click()
    dialog = ui.locator("#detail")
    expect(dialog).to_be_visible()
    history = dialog.locator("table").first.locator("tbody tr")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("accepted")
    expect(history.nth(1)).to_contain_text("submitted")
    expect(history.nth(2)).to_contain_text("delivered")
    delivered_at = api.ok("GET", f"/_mock/messages/{uuid}")["history"][2]["timestamp"]
    expect(history.nth(2)).to_contain_text(delivered_at.replace("T", " ").rstrip("Z"))
    expect(dialog.locator(".facts")).to_contain_text(f"Message UUID{uuid}")
    expect(dialog.locator("pre.request")).to_contain_text('"text": "Detail please"')
    expect(dialog.get_by_role("heading", name="Webhooks (2)")).to_be_visible()
    attempts = dialog.locator(".delivery").filter(has_text='"status": "submitted"').locator("tbody tr")
    expect(attempts).to_have_count(2)
    expect(attempts.nth(0)).to_contain_text("HTTP 503")
    expect(attempts.nth(1)).to_contain_text("HTTP 200")
    dialog.get_by_role("button", name="Close").first.click()
    expect(dialog).not_to_be_visible()


def test_filters_reset_and_no_console_errors(ui: Page, api: Api, console: list[str]) -> None:
    markup = '<img src=x onerror="document.title=1">'
    api.send(sms(to="447700900000", text=markup))
    api.send(sms(to="447700900901"))
    api.send(messenger(to=USER))
    api.advance(60)
    expect(ui.locator(".conversation")).to_have_count(3)
    expect(conversation(ui, "SMS", "447700900000").locator(".preview")).to_have_text(f"→ {markup}")
    expect(ui.locator("#conversation-list img")).to_have_count(0)
    ui.get_by_label("Filter by channel").select_option("messenger")
    expect(ui.locator(".conversation")).to_have_count(1)
    ui.get_by_label("Filter by channel").select_option("")
    ui.get_by_label("Filter by status").select_option("failed")
    expect(ui.locator(".conversation")).to_have_count(1)
    expect(conversation(ui, "SMS", "447700900901")).to_be_visible()
    ui.get_by_label("Filter by status").select_option("")
    ui.get_by_role("button", name="Reset the mock: delete all messages").click()
    expect(ui.locator(".conversation")).to_have_count(0)
    assert api.ok("GET", "/_mock/messages")["messages"] == []
    assert console == []


def test_phone_width_shows_the_list_then_the_thread(browser: Browser, server: MockProcess, api: Api,
                                                    console: list[str]) -> None:
    api.send(messenger(to=USER, text="Small screen"))
    page = open_page(browser, server, console, viewport={"width": 390, "height": 844}, is_mobile=True)
    expect(page.locator("#thread")).not_to_be_visible()
    conversation(page, "Messenger", USER).click()
    expect(page.locator(".bubble")).to_contain_text("Small screen")
    expect(page.locator(".sidebar")).not_to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name="Back to the conversation list").click()
    expect(page.locator(".sidebar")).to_be_visible()
    page.context.close()
    assert console == []


def test_the_page_reconnects_after_the_server_restarts(browser: Browser) -> None:
    mock = MockProcess(TOKEN)
    mock.start()
    errors: list[str] = []
    try:
        page = open_page(browser, mock, errors)
        mock.stop(crash=True)
        expect(page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
        mock.start()
        expect(page.locator("#connection")).to_have_attribute("data-state", "live")
        uuid = Api(mock).send(sms(to="447700900000", text="After the restart"))
        conversation(page, "SMS", "447700900000").click()
        expect(bubble(page, uuid)).to_contain_text("After the restart")
        page.context.close()
    finally:
        mock.stop(crash=True)
    # The browser may log the stream cut and refused reconnections (how many depends on timing); nothing else.
    assert [e for e in errors if not e.startswith("error: Failed to load resource: net::ERR_")] == []


def test_screenshot_of_the_main_view(ui: Page, api: Api, server: MockProcess, tmp_path: Path) -> None:
    """Renders the README's picture; UPDATE_SCREENSHOT=1 writes it to docs/, else it goes to a temp dir."""
    api.ok("POST", "/_mock/clock/advance", {"to": "2018-06-01T14:00:00.000Z"})  # the same picture whatever ran before
    fan = "2468013579135791"
    api.ok("POST", "/_mock/rules", {"match": {"to": fan}, "outcome": "never_read"})
    api.send(sms(to="447700900000", text="Your table for 2 is booked for 8 pm."))
    api.send(viber(to="447700900002", text="Your boarding pass is ready."))
    api.send(messenger(to=USER, page=PAGE_ID, text="Hi Sam! Your parcel arrives tomorrow."))
    api.start_workflow(workflow(messenger(to=fan, page=PAGE_ID, text="Your tickets for Friday are ready. Got them?"),
                                sms(to="447700900123", text="Your tickets for Friday are ready: reply YES")))
    api.send(sms(to="447700900910", text="Your verification code is 493 112"))
    api.advance(630)
    you = {"from": {"type": "messenger", "id": fan}, "to": {"type": "messenger", "id": PAGE_ID}}
    api.inbound({**you, "content": {"type": "text", "text": "Yes, got them, thanks! Here is where we will meet:"}})
    api.advance(4)
    api.inbound({**you, "content": {"type": "location", "location": {"lat": "51.5033", "long": "-0.1196"}}})
    api.advance(3)
    api.inbound({**you, "content": {"type": "image", "image": {"url": f"{server.url}/static/samples/photo.svg"}}})
    api.advance(2)
    conversation(ui, "Messenger", fan).click()
    expect(ui.locator(".hop")).to_have_text("No read in 600 s: failed over to SMS")
    expect(ui.locator(".workflow-end")).to_have_text("Workflow completed: delivered on SMS")
    expect(ui.locator(".bubble.in")).to_have_count(3)
    ui.wait_for_function("() => document.querySelector('.bubble.in img.thumb').naturalWidth > 0")
    target = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / SCREENSHOT.name
    ui.screenshot(path=str(target))
    assert target.stat().st_size > 10_000


def test_the_faults_panel_adds_a_preset_counts_its_hits_removes_it_and_shows_the_limits(ui: Page, api: Api) -> None:
    from .support import BASIC

    ui.get_by_role("button", name="Faults", exact=True).click()
    expect(ui.locator("#faults-empty")).to_be_visible()
    ui.get_by_role("button", name="Next 3 sends get 429").click()
    row = ui.locator("#fault-rows tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(1)).to_have_text("429, Retry-After 1")
    expect(row.locator("td").nth(3)).to_have_text("3 times")
    try:
        assert api.call("POST", "/beta/messages", sms(), {"Authorization": BASIC})[0] == 429
        expect(row.locator("td").nth(4)).to_have_text("1")  # the hit, live from the event stream
        row.get_by_role("button", name="Remove fault").click()
        expect(row).to_have_count(0)
        expect(ui.locator("#faults-empty")).to_be_visible()

        expect(ui.locator("#edge-rate")).to_have_text("off")
        ui.get_by_role("button", name="Edit limits").click()
        ui.locator("#cfg-rate-limit").fill("2")
        ui.locator("#cfg-balance").fill("1.5")
        ui.locator("#settings-save").click()
        expect(ui.locator("#edge-rate")).to_have_text("2/s")
        expect(ui.locator("#edge-balance")).to_have_text("€1.5000")
    finally:
        api.ok("DELETE", "/_mock/faults")
        api.ok("PUT", "/_mock/config", {"rate_limit": 0, "balance": None})
