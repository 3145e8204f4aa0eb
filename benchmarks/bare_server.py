"""The ratio baseline of the benchmark: a bare aiohttp handler answering 202 with a uuid, nothing else."""

from __future__ import annotations

import argparse
import uuid

from aiohttp import web


async def accept(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"message_uuid": str(uuid.uuid4())}, status=202)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8282)
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post("/{tail:.*}", accept)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
