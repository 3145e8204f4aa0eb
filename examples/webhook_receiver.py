"""A tiny webhook receiver: prints every status and inbound webhook the mock sends, and answers 200.

Run it, then point the mock at it:
    python examples/webhook_receiver.py       # HOST (127.0.0.1) and PORT (8080) from the environment
    mockserver --status-url http://127.0.0.1:8080/webhooks/status --inbound-url http://127.0.0.1:8080/webhooks/inbound
"""

from __future__ import annotations

import json
import os

from aiohttp import web


async def receive(request: web.Request) -> web.Response:
    body = await request.read()
    try:
        shown = json.dumps(json.loads(body), sort_keys=True)
    except ValueError:
        shown = body.decode(errors="replace")
    print(f"{request.method} {request.path} {shown}", flush=True)
    return web.Response(status=200, text="ok")


def create_app() -> web.Application:
    app = web.Application()
    app.add_routes([web.post("/webhooks/status", receive), web.post("/webhooks/inbound", receive)])
    return app


if __name__ == "__main__":
    web.run_app(create_app(), host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "8080")),
                print=lambda text: print(text, flush=True))
