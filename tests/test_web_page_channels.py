"""The page with today's channels, in a real browser: an icon each, WhatsApp templates, stickers, reactions and
locations, RCS cards with their suggestions, and replies as a WhatsApp, SMS or Viber user."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .browser import BASIC, Api, MockProcess
from .support import Receiver
from .test_web_page import api, browser, bubble, console, conversation, receiver, server, ui
from .v1_bodies import BODIES, BUSINESS, CARD, NUMBER

__all__ = ["api", "browser", "console", "receiver", "server", "ui"]  # fixtures shared with test_web_page


def send_v1(api: Api, name: str, **changes: object) -> str:
    return api.ok("POST", "/v1/messages", BODIES[name] | changes, {"Authorization": BASIC})["message_uuid"]


def test_each_channel_has_its_icon(ui: Page, api: Api) -> None:
    for name, badge in (("whatsapp template", "WA"), ("mms image", "MMS"), ("rcs image", "RCS")):
        send_v1(api, name, to=f"4477009001{len(badge)}")
        expect(ui.locator(f".conversation .badge.ch-{BODIES[name]['channel']}")).to_have_text(badge)


def test_whatsapp_templates_stickers_reactions_and_locations_are_shown(ui: Page, api: Api) -> None:
    api.inbound({"channel": "whatsapp", "from": {"number": NUMBER}, "to": {"number": BUSINESS}})
    template = send_v1(api, "whatsapp template")
    reaction = send_v1(api, "whatsapp reaction")
    where = send_v1(api, "whatsapp location")
    sticker = send_v1(api, "whatsapp sticker id")
    conversation(ui, "WhatsApp", NUMBER).click()
    expect(bubble(ui, template).locator(".template-name")).to_have_text("Template 9b6b4fcb_da19:verify")
    expect(bubble(ui, template).locator(".template-params")).to_have_text("Parameters: 1234, 10")
    expect(bubble(ui, reaction).locator(".reaction")).to_have_text("Reaction 👍")
    expect(bubble(ui, where).locator(".location")).to_contain_text("Location 51.52, -0.08")
    expect(bubble(ui, sticker).locator(".sticker")).to_have_text("[sticker]")


def test_rcs_cards_show_their_suggestions(ui: Page, api: Api, server: MockProcess) -> None:
    picture = f"{server.url}/static/samples/photo.svg"  # the page loads it: a URL this machine serves
    card = send_v1(api, "rcs card", card=CARD | {"media_url": picture})
    text = send_v1(api, "rcs text")
    conversation(ui, "RCS", NUMBER).click()
    expect(bubble(ui, card).locator(".card-title")).to_have_text("A cat")
    expect(bubble(ui, card).locator(".suggestion")).to_have_text(["Nice"])
    expect(bubble(ui, text).locator(".suggestion")).to_have_count(7)


@pytest.mark.parametrize(("name", "channel", "label", "offers"), [
    ("whatsapp template", "whatsapp", "WhatsApp", {"image", "location"}),
    ("sms text", "sms", "SMS", set()),
    ("viber text", "viber_service", "Viber", {"image"}),
])
def test_a_person_replies_as_the_user_of_the_channel(ui: Page, api: Api, receiver: Receiver, name: str,
                                                     channel: str, label: str, offers: set[str]) -> None:
    api.ok("PUT", "/_mock/config", {"inbound_url": receiver.url("/inbound")})
    send_v1(api, name)
    conversation(ui, label, NUMBER).click()
    for kind in ("image", "location"):
        button = ui.get_by_role("button", name=f"Send {'an' if kind == 'image' else 'a'} {kind} as the user")
        expect(button).to_be_visible() if kind in offers else expect(button).to_be_hidden()
    ui.get_by_label("Reply as the user").fill("Yes please")
    ui.get_by_label("Reply as the user").press("Enter")
    expect(ui.locator(".bubble.in .text")).to_have_text("Yes please")
    ui.get_by_role("button", name="Webhook log").click()
    expect(ui.locator(".webhook-row .state")).to_have_text("delivered")
    [payload] = receiver.bodies("/inbound")
    assert (payload["channel"], payload["message_type"], payload["text"]) == (channel, "text", "Yes please")
    assert (payload["from"], payload["to"]) == (NUMBER, BODIES[name]["from"])
