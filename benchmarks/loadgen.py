"""The Python load generator of the benchmark: N keep-alive aiohttp connections POSTing one body in a loop.

Used when `wrk` is not installed, and to send an exact number of requests (filling the store).
Prints one JSON line: requests, statuses, socket errors, seconds, p50/p99 latency in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


async def drive(url: str, body: bytes, headers: dict[str, str] | list[dict[str, str]], connections: int,
                seconds: float | None = None, count: int | None = None) -> dict[str, Any]:
    """POST `body` to `url` from `connections` workers until `seconds` pass or `count` requests are sent; a list
    of headers is taken in turn, one request after the other (e.g. many accounts in round robin)."""
    rotation = headers if isinstance(headers, list) else [headers]
    turn = 0
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors = 0
    budget = count if count is not None else -1
    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        deadline = started + seconds if seconds is not None else float("inf")

        async def worker() -> None:
            nonlocal budget, errors, turn
            while budget != 0 and time.perf_counter() < deadline:
                budget -= 1
                turn += 1
                sent = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=rotation[turn % len(rotation)]) as response:
                        await response.read()
                except aiohttp.ClientError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - sent)
                statuses[response.status] += 1

        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "statuses": {str(k): v for k, v in statuses.items()}, "errors": errors,
            "seconds": elapsed, "p50_ms": percentile(latencies, 0.50) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--body-file", required=True, type=Path)
    parser.add_argument("--header", action="append", default=[], help="Name: value")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--count", type=int)
    args = parser.parse_args()
    if (args.seconds is None) == (args.count is None):
        sys.exit("loadgen: give exactly one of --seconds or --count")
    headers = dict(h.split(": ", 1) for h in args.header)
    result = asyncio.run(drive(args.url, args.body_file.read_bytes(), headers, args.connections,
                               seconds=args.seconds, count=args.count))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
