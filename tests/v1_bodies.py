"""One valid /v1 body for every channel and message type, as the vonage SDK 4.x models serialise them."""

from __future__ import annotations

from typing import Any

NUMBER, BUSINESS = "447700900000", "447700900001"
IMAGE, VIDEO, AUDIO, FILE = ("https://example.com/cat.jpg", "https://example.com/clip.mp4",
                             "https://example.com/song.mp3", "https://example.com/doc.pdf")
CARD = {"title": "A cat", "text": "Look at this cat", "media_url": IMAGE, "media_height": "SHORT",
        "suggestions": [{"type": "reply", "text": "Nice", "postback_data": "nice"}]}
SUGGESTIONS = [
    {"type": "reply", "text": "Yes", "postback_data": "yes"},
    {"type": "dial", "text": "Call us", "postback_data": "call", "phone_number": "447700900001"},
    {"type": "view_location", "text": "Shop", "postback_data": "shop", "latitude": "51.5228349",
     "longitude": "-0.0854414", "pin_label": "Our shop"},
    {"type": "share_location", "text": "Where are you?", "postback_data": "where"},
    {"type": "open_url", "text": "Website", "postback_data": "site", "url": "https://example.com",
     "description": "Our site"},
    {"type": "open_url_in_webview", "text": "Webview", "postback_data": "view", "url": "https://example.com",
     "description": "In app", "view_mode": "TALL"},
    {"type": "create_calendar_event", "text": "Remind me", "postback_data": "cal",
     "start_time": "2024-06-28T19:00:00Z", "end_time": "2024-06-28T20:00:00Z", "title": "Party",
     "description": "Bring cake"},
]


def _message(channel: str, message_type: str, to: str, sender: str, **fields: Any) -> dict[str, Any]:
    return {"channel": channel, "message_type": message_type, "to": to, "from": sender, **fields}


BODIES: dict[str, dict[str, Any]] = {
    "sms text": _message("sms", "text", NUMBER, BUSINESS, text="Hello", ttl=600,
                         sms={"encoding_type": "auto", "content_id": "1107900001", "entity_id": "1101407360000017170"}),
    "mms image": _message("mms", "image", NUMBER, BUSINESS, image={"url": IMAGE, "caption": "A cat"}, ttl=600),
    "mms vcard": _message("mms", "vcard", NUMBER, BUSINESS, vcard={"url": "https://example.com/me.vcf"}),
    "mms audio": _message("mms", "audio", NUMBER, BUSINESS, audio={"url": AUDIO}),
    "mms video": _message("mms", "video", NUMBER, BUSINESS, video={"url": VIDEO}),
    "mms file": _message("mms", "file", NUMBER, BUSINESS, file={"url": FILE}),
    "mms text": _message("mms", "text", NUMBER, BUSINESS, text="Hello by MMS"),
    "mms content": _message("mms", "content", NUMBER, BUSINESS,
                            content=[{"type": "image", "url": IMAGE}, {"type": "file", "url": FILE, "caption": "Doc"}]),
    "rcs text": _message("rcs", "text", NUMBER, "Vonage", text="Pick one", suggestions=SUGGESTIONS, ttl=600,
                         rcs={"category": "transaction"}),
    "rcs image": _message("rcs", "image", NUMBER, "Vonage", image={"url": IMAGE}),
    "rcs video": _message("rcs", "video", NUMBER, "Vonage", video={"url": VIDEO}),
    "rcs file": _message("rcs", "file", NUMBER, "Vonage", file={"url": FILE}),
    "rcs card": _message("rcs", "card", NUMBER, "Vonage", card=CARD,
                         rcs={"card_orientation": "HORIZONTAL", "image_alignment": "LEFT"}),
    "rcs carousel": _message("rcs", "carousel", NUMBER, "Vonage", carousel={"cards": [CARD, CARD]},
                             rcs={"card_width": "MEDIUM"}, suggestions=SUGGESTIONS[:1]),
    "rcs custom": _message("rcs", "custom", NUMBER, "Vonage", custom={"contentMessage": {"text": "Raw RBM"}}),
    "whatsapp text": _message("whatsapp", "text", NUMBER, BUSINESS, text="Hello on WhatsApp"),
    "whatsapp image": _message("whatsapp", "image", NUMBER, BUSINESS, image={"url": IMAGE, "caption": "A cat"}),
    "whatsapp audio": _message("whatsapp", "audio", NUMBER, BUSINESS, audio={"url": AUDIO}),
    "whatsapp video": _message("whatsapp", "video", NUMBER, BUSINESS, video={"url": VIDEO, "caption": "Clip"}),
    "whatsapp file": _message("whatsapp", "file", NUMBER, BUSINESS, file={"url": FILE, "name": "doc.pdf"}),
    "whatsapp template": _message("whatsapp", "template", NUMBER, BUSINESS,
                                  template={"name": "9b6b4fcb_da19:verify", "parameters": ["1234", "10"]},
                                  whatsapp={"policy": "deterministic", "locale": "en_GB"}),
    "whatsapp sticker url": _message("whatsapp", "sticker", NUMBER, BUSINESS, sticker={"url": "https://e.com/s.webp"}),
    "whatsapp sticker id": _message("whatsapp", "sticker", NUMBER, BUSINESS, sticker={"id": "13aaecab-2485-4255"}),
    "whatsapp location": _message("whatsapp", "custom", NUMBER, BUSINESS, custom={
        "type": "location", "location": {"latitude": 51.52, "longitude": -0.08, "name": "Shop", "address": "London"}}),
    "whatsapp interactive": _message("whatsapp", "custom", NUMBER, BUSINESS, custom={
        "type": "interactive", "interactive": {"type": "button", "body": {"text": "Yes?"}, "action": {
            "buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}}]}}}),
    "whatsapp reaction": _message("whatsapp", "custom", NUMBER, BUSINESS,
                                  custom={"type": "reaction", "reaction": {"action": "react", "emoji": "👍"}},
                                  context={"message_uuid": "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"}),
    "messenger text": _message("messenger", "text", "1234567890123456", "9876543210", text="Hi",
                               messenger={"category": "response"}),
    "messenger image": _message("messenger", "image", "1234567890123456", "9876543210", image={"url": IMAGE}),
    "messenger audio": _message("messenger", "audio", "1234567890123456", "9876543210", audio={"url": AUDIO}),
    "messenger video": _message("messenger", "video", "1234567890123456", "9876543210", video={"url": VIDEO}),
    "messenger file": _message("messenger", "file", "1234567890123456", "9876543210", file={"url": FILE}),
    "viber text": _message("viber_service", "text", NUMBER, "16273", text="Hi on Viber", viber_service={
        "category": "promotion", "ttl": 600, "type": "string", "action": {"url": "https://e.com", "text": "Go"}}),
    "viber image": _message("viber_service", "image", NUMBER, "16273", image={"url": IMAGE, "caption": "Cat"}),
    "viber video": _message("viber_service", "video", NUMBER, "16273",
                            video={"url": VIDEO, "thumb_url": IMAGE, "caption": "Clip"},
                            viber_service={"category": "transaction", "duration": "12", "file_size": "3"}),
    "viber file": _message("viber_service", "file", NUMBER, "16273", file={"url": FILE, "name": "doc.pdf"}),
}
