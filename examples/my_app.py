"""An example app under test: takes orders, texts the customer through the Messages API, tracks its webhooks.

Run it against the mock: MESSAGES_API_URL=http://localhost:8181 python examples/my_app.py
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import ClientSession, web

SENDER = "447700900001"
API_URL = web.AppKey("api_url", str)
AUTH = web.AppKey("auth", str)
HTTP = web.AppKey("http", ClientSession)
ORDERS = web.AppKey("orders", dict)
INBOX = web.AppKey("inbox", list)


def order_text(order: dict[str, Any]) -> str:
    return f"Your order of {order['item']} is confirmed (ref {order['id']})."


async def create_order(request: web.Request) -> web.Response:
    """Store the order and text its confirmation; the order keeps the message's latest status."""
    fields = await request.json()
    order = {"id": uuid.uuid4().hex[:8], "phone": fields["phone"], "item": fields["item"], "notification": None}
    sms = {"to": {"type": "sms", "number": order["phone"]}, "from": {"type": "sms", "number": SENDER},
           "message": {"content": {"type": "text", "text": order_text(order)}}}
    app = request.app
    async with app[HTTP].post(app[API_URL] + "/v0.1/messages", json=sms,
                              headers={"Authorization": app[AUTH]}) as answer:
        reply = await answer.json()
    order["message_uuid"] = reply.get("message_uuid")
    order["notification"] = "sent" if answer.status == 202 else "refused"
    app[ORDERS][order["id"]] = order
    return web.json_response(order, status=201)


async def get_order(request: web.Request) -> web.Response:
    order = request.app[ORDERS].get(request.match_info["id"])
    if order is None:
        raise web.HTTPNotFound()
    return web.json_response(order)


async def status_webhook(request: web.Request) -> web.Response:
    """A status webhook: the order whose confirmation it is gets the new status (and the error, if any)."""
    event = await request.json()
    for order in request.app[ORDERS].values():
        if order.get("message_uuid") == event.get("message_uuid"):
            order["notification"] = event["status"]
            order["error"] = event.get("error")
    return web.Response(status=200)


async def inbound_webhook(request: web.Request) -> web.Response:
    event = await request.json()
    request.app[INBOX].append({"from": event["from"]["id"], "content": event["message"]["content"]})
    return web.Response(status=200)


async def inbox(request: web.Request) -> web.Response:
    return web.json_response({"messages": request.app[INBOX]})


def create_app(api_url: str, api_key: str = "my-key", api_secret: str = "my-secret") -> web.Application:
    app = web.Application()
    app[API_URL] = api_url.rstrip("/")
    app[AUTH] = "Basic " + base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
    app[ORDERS] = {}
    app[INBOX] = []
    app.add_routes([web.post("/orders", create_order), web.get("/orders/{id}", get_order),
                    web.post("/webhooks/status", status_webhook), web.post("/webhooks/inbound", inbound_webhook),
                    web.get("/inbox", inbox)])
    app.cleanup_ctx.append(_http_session)
    return app


async def _http_session(app: web.Application) -> AsyncIterator[None]:
    async with ClientSession() as session:
        app[HTTP] = session
        yield


if __name__ == "__main__":
    web.run_app(create_app(os.environ.get("MESSAGES_API_URL", "http://localhost:8181")),
                host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8000")))
