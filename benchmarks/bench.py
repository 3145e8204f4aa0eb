"""The benchmark: the mock against a bare aiohttp 202 handler in the same run; prints a table and the targets.

    /work/venv/bin/python benchmarks/bench.py            # full run: 3 rounds x 5 s per figure, about 4 minutes
    /work/venv/bin/python benchmarks/bench.py --quick    # smoke run: 1 round x 0.5 s (wrk: 1 s), 5,000 messages

Servers run pinned to core 0 (`taskset -c 0`); this script, its webhook receiver and the load generator
(`wrk` when installed, else benchmarks/loadgen.py on aiohttp) run on core 1. The mock runs with its defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from loadgen import drive as python_load  # benchmarks/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
AUTH = "Basic " + base64.b64encode(b"bench:s3cr3t").decode()
SERVER_CORE, LOAD_CORE = 0, 1

SMS = {"to": {"type": "sms", "number": "447700900000"}, "from": {"type": "sms", "number": "447700900001"},
       "message": {"content": {"type": "text", "text": "Your code is 1234"}}}
IMAGE = {"to": {"type": "messenger", "id": "1234567890123456"}, "from": {"type": "messenger", "id": "9876543210"},
         "message": {"content": {"type": "image", "image": {"url": "https://example.com/cat.jpg"}}}}
WORKFLOW = {"template": "failover", "workflow": [
    {**IMAGE, "failover": {"expiry_time": 600, "condition_status": "read"}}, SMS]}
INVALID = {"to": {"type": "sms", "number": 447700900000}, "from": {"type": "sms", "number": "447700900001"},
           "message": {"content": {"type": "text", "text": ""}}}
WHATSAPP_TEMPLATE = {"channel": "whatsapp", "message_type": "template", "to": "447700900000", "from": "447700900001",
                     "template": {"name": "9b6b4fcb_da19_4a26_8fe8_78074a91b584:verify", "parameters": ["1234"]},
                     "whatsapp": {"policy": "deterministic", "locale": "en_GB"}}  # /v1, issue 15
SMS_WEBHOOKS = 2  # submitted, delivered
NON_MATCHING_FAULTS = 10
ROUND_ROBIN_ACCOUNTS = 100  # issue 13: one account per request, in turn
EMPTY_ACCOUNTS = 1000  # made for the memory figure of an empty account


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    body: dict[str, Any]
    valid: bool = True
    faults: int = 0  # faults at the API edge that match nothing, set on the mock for the run (issue 14)
    accounts: int = 1  # Basic api_keys the requests take in turn (issue 13)

    @property
    def payload(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode()

    @property
    def auths(self) -> tuple[str, ...]:
        if self.accounts == 1:
            return (AUTH,)
        return tuple("Basic " + base64.b64encode(f"bench-{n}:s3cr3t".encode()).decode() for n in range(self.accounts))


SCENARIOS = (Scenario("valid SMS", "/beta/messages", SMS),
             Scenario("Messenger image", "/beta/messages", IMAGE),
             Scenario("failover workflow", "/beta/workflows", WORKFLOW),
             Scenario("WhatsApp template (v1)", "/v1/messages", WHATSAPP_TEMPLATE),
             Scenario("invalid bodies", "/beta/messages", INVALID, valid=False),
             Scenario(f"valid SMS, {NON_MATCHING_FAULTS} faults matching nothing", "/beta/messages", SMS,
                      faults=NON_MATCHING_FAULTS),
             Scenario(f"valid SMS, {ROUND_ROBIN_ACCOUNTS} accounts in round robin", "/beta/messages", SMS,
                      accounts=ROUND_ROBIN_ACCOUNTS))


@dataclass(frozen=True)
class Options:
    seconds: float
    warmup: float
    rounds: int
    connections: int
    messages: int
    webhook_messages: int  # stored for the RSS figure with webhooks on
    loader: str
    work: Path
    mock_src: Path  # the checkout whose `mockserver` package is measured


@dataclass(frozen=True)
class Load:
    """What one load run measured."""

    requests: int
    ok: int  # 2xx answers
    refused: int  # 4xx/5xx answers
    errors: int  # socket errors and timeouts
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def ok_rate(self) -> float:
        return self.ok / self.seconds

    @property
    def refused_rate(self) -> float:
        return self.refused / self.seconds


# -- the machine --------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine(opts: Options) -> str:
    loader = (f"wrk -t2 -c{opts.connections}" if opts.loader == "wrk"
              else f"benchmarks/loadgen.py (aiohttp, {opts.connections} connections)")
    pinned = "server on core 0, load on core 1" if pinning() else "not pinned (taskset or 2 cores missing)"
    return (f"{os.cpu_count()} cores ({cpu_model()}), {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}; load: {loader}, keep-alive; "
            f"{pinned}; {opts.rounds} round(s) x {opts.seconds} s per figure, medians")


def pinning() -> bool:
    return bool(shutil.which("taskset")) and (os.cpu_count() or 1) >= 2


# -- servers ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A server process pinned to the server core, its log in a file."""

    name: str
    command: list[str]
    log: Path
    cwd: Path = ROOT
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    first_202_s: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_mock(self) -> bool:
        return self.name == "mock"

    async def start(self, session: aiohttp.ClientSession) -> Server:
        """Spawn, then POST a valid SMS until the first 202: that time is the start-up figure."""
        prefix = ["taskset", "-c", str(SERVER_CORE)] if pinning() else []
        started = time.perf_counter()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([*prefix, *self.command, "--port", str(self.port)], cwd=self.cwd,
                                            stdout=log, stderr=subprocess.STDOUT)
        while not await self._accepts(session):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
            await asyncio.sleep(0.002)
        self.first_202_s = time.perf_counter() - started
        return self

    async def _accepts(self, session: aiohttp.ClientSession) -> bool:
        try:
            async with session.post(self.url + "/beta/messages", data=SCENARIOS[0].payload,
                                    headers={"Authorization": AUTH, "Content-Type": "application/json"}) as r:
                return r.status == 202
        except aiohttp.ClientConnectionError:
            return False

    def rss(self) -> int:
        """Resident set size in bytes (VmRSS of /proc/PID/status)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def mock_server(opts: Options, *flags: str) -> Server:
    # Default settings: log level info (one access-log line per request), real clock, history_limit 100k.
    return Server("mock", [sys.executable, "-m", "mockserver", *flags], opts.work / "mock.log", cwd=opts.mock_src)


def bare_server(opts: Options) -> Server:
    return Server("bare", [sys.executable, str(HERE / "bare_server.py")], opts.work / "bare.log")


# -- load generators ----------------------------------------------------------------------------------
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "{auth}"
{rotation}done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {{"requests": %d, "seconds": %f, "refused": %d, "errors": %d, '
    .. '"p50_ms": %f, "p99_ms": %f}}\\n', summary.requests, summary.duration / 1e6, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""
WRK_ROTATION = """\
local auths = {{{auths}}}
local turn = 0
request = function()
  turn = turn % #auths + 1
  wrk.headers["Authorization"] = auths[turn]
  return wrk.format()
end
"""


async def run(command: list[str]) -> str:
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"{command[0]} failed ({process.returncode}): {err.decode()[-500:]}")
    return out.decode()


async def wrk(opts: Options, url: str, body: bytes, seconds: float, auths: tuple[str, ...] = (AUTH,)) -> Load:
    script = opts.work / "post.lua"
    rotation = WRK_ROTATION.format(auths=", ".join(f'"{auth}"' for auth in auths)) if len(auths) > 1 else ""
    script.write_text(WRK_SCRIPT.format(body=body.decode(), auth=auths[0], rotation=rotation))
    whole = max(1, math.ceil(seconds))  # wrk counts whole seconds
    out = await run(["wrk", "-t2", f"-c{opts.connections}", f"-d{whole}s", "--timeout", "10s", "-s", str(script),
                     url])
    data = json.loads(next(line for line in out.splitlines() if line.startswith("BENCH "))[6:])
    return Load(requests=data["requests"], ok=data["requests"] - data["refused"], refused=data["refused"],
                errors=data["errors"], seconds=data["seconds"], p50_ms=data["p50_ms"], p99_ms=data["p99_ms"])


async def loadgen(opts: Options, url: str, body: bytes, seconds: float | None = None,
                  count: int | None = None, auths: tuple[str, ...] = (AUTH,)) -> Load:
    """benchmarks/loadgen.py, in this process (already on the load core): no interpreter to start per run."""
    headers = [{"Authorization": auth, "Content-Type": "application/json"} for auth in auths]
    data = await python_load(url, body, headers, opts.connections, seconds=seconds, count=count)
    ok = sum(n for status, n in data["statuses"].items() if status.startswith("2"))
    return Load(requests=data["requests"], ok=ok, refused=data["requests"] - ok, errors=data["errors"],
                seconds=data["seconds"], p50_ms=data["p50_ms"], p99_ms=data["p99_ms"])


async def drive(opts: Options, url: str, body: bytes, seconds: float, auths: tuple[str, ...] = (AUTH,)) -> Load:
    if opts.loader == "wrk":
        return await wrk(opts, url, body, seconds, auths)
    return await loadgen(opts, url, body, seconds=seconds, auths=auths)


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
FAILED = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nError"


# -- the webhook receiver -----------------------------------------------------------------------------
class Receiver(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive receiver (cheaper than aiohttp, so the receiver is never the limit)."""

    def __init__(self, sink: Sink, fail_every: int = 0) -> None:
        self.sink = sink
        self.fail_every = fail_every  # answer 500 to every n-th request (0: never)
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            marker = head.find(b"content-length:")
            length = int(head[marker + 15:].split(b"\r\n", 1)[0]) if marker >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.sink.record(self.buffer[end + 4:end + 4 + length])
            self.buffer = self.buffer[end + 4 + length:]
            failing = self.fail_every and self.sink.count % self.fail_every == 0
            self.transport.write(FAILED if failing else OK)


@dataclass
class Sink:
    """What the receiver got: every body counted, each (message_uuid, status) remembered, the last arrival."""

    count: int = 0
    keys: set[tuple[str, str]] = field(default_factory=set)
    last_at: float = 0.0

    def record(self, body: bytes) -> None:
        payload = json.loads(body)
        self.count += 1
        self.keys.add((payload.get("message_uuid", ""), payload.get("status", "")))
        self.last_at = time.perf_counter()

    def clear(self) -> None:
        self.count, self.keys, self.last_at = 0, set(), 0.0

    async def wait_for(self, expected: int, stall: float) -> None:
        """Until `expected` bodies arrived, or none arrived for `stall` seconds."""
        seen, since = self.count, time.perf_counter()
        while self.count < expected and time.perf_counter() - since < stall:
            await asyncio.sleep(0.01)
            if self.count != seen:
                seen, since = self.count, time.perf_counter()


# -- the figures --------------------------------------------------------------------------------------
async def control(session: aiohttp.ClientSession, server: Server, method: str, path: str,
                  body: Any = None, params: dict[str, str] | None = None) -> Any:
    async with session.request(method, server.url + path, json=body, params=params) as response:
        return await response.json() if response.status == 200 else None


async def throughput(opts: Options, session: aiohttp.ClientSession, server: Server, scenario: Scenario) -> Load:
    url = server.url + scenario.path
    if opts.warmup:
        await drive(opts, url, scenario.payload, opts.warmup, scenario.auths)
    if server.is_mock:
        await control(session, server, "POST", "/_mock/reset")
        for number in range(scenario.faults):  # half skipped by their path, half read the body to be judged
            match = {"path": f"/nowhere/{number}"} if number % 2 else {"to": f"44000000{number}", "method": "POST"}
            await control(session, server, "POST", "/_mock/faults", {"match": match, "status": 503})
    load = await drive(opts, url, scenario.payload, opts.seconds, scenario.auths)
    if server.is_mock and scenario.valid:
        await check_stored(session, server, scenario, load)
    if server.is_mock and scenario.faults:
        await control(session, server, "DELETE", "/_mock/faults")
    return load


async def check_stored(session: aiohttp.ClientSession, server: Server, scenario: Scenario, load: Load) -> None:
    """Every 202 must be a stored message (or workflow): the throughput counts real work."""
    health = await control(session, server, "GET", "/_mock/health")
    kind = "workflows" if scenario.path.endswith("workflows") else "messages"
    stored = health["counts"][kind] + health["pruned"][kind]
    if stored < load.ok:
        print(f"warning: {scenario.name}: {load.ok} accepted but {stored} stored", file=sys.stderr)


async def webhooks(opts: Options, session: aiohttp.ClientSession, server: Server, sink: Sink,
                   receiver_url: str) -> dict[str, Any]:
    """Valid SMS with status webhooks on (time scaled 100x so statuses come within the run), end to end."""
    await control(session, server, "PUT", "/_mock/config", {"status_url": receiver_url, "time_scale": 0.01})
    await control(session, server, "POST", "/_mock/reset")
    sink.clear()
    started = time.perf_counter()
    load = await drive(opts, server.url + "/beta/messages", SCENARIOS[0].payload, opts.seconds)
    messages = await stored_messages(session, server)  # the load generator misses answers in flight at its end
    expected = messages * SMS_WEBHOOKS
    await sink.wait_for(expected, stall=10.0)
    health = await control(session, server, "GET", "/_mock/health")
    await control(session, server, "PUT", "/_mock/config", {"status_url": None, "time_scale": 1.0})
    elapsed = (sink.last_at or time.perf_counter()) - started
    return {"messages": messages, "expected": expected, "received": sink.count, "distinct": len(sink.keys),
            "end_to_end_rate": messages / elapsed, "accept_rate": load.ok_rate, "p99_ms": load.p99_ms,
            "pending_after": health["pending_webhooks"]}


async def stored_messages(session: aiohttp.ClientSession, server: Server) -> int:
    health = await control(session, server, "GET", "/_mock/health")
    return health["counts"]["messages"] + health["pruned"]["messages"]


async def memory(opts: Options, session: aiohttp.ClientSession) -> dict[str, Any]:
    """RSS of a fresh mock before and after storing `opts.messages` messages (all statuses reached); then, its
    store full (history_limit = that many), how fast it accepts while pruning the oldest at each new message."""
    server = await mock_server(opts, "--history-limit", str(opts.messages)).start(session)
    try:
        url = server.url + "/beta/messages"
        await loadgen(opts, url, SCENARIOS[0].payload, count=1000)
        await control(session, server, "POST", "/_mock/reset")
        await control(session, server, "PUT", "/_mock/config", {"time_scale": 0.1})  # statuses settle 10x sooner
        baseline = server.rss()
        await loadgen(opts, url, SCENARIOS[0].payload, count=opts.messages)
        health = await settle(session, server)
        after = server.rss()
        full = await drive(opts, url, SCENARIOS[0].payload, opts.seconds)
    finally:
        server.stop()
    stored = health["counts"]["messages"]
    return {"messages": stored, "baseline_rss": baseline, "rss": after,
            "bytes_per_message": (after - baseline) / stored, "first_202_s": server.first_202_s,
            "full_store_rate": full.ok_rate, "full_store_p99_ms": full.p99_ms}


async def memory_with_webhooks(opts: Options, session: aiohttp.ClientSession) -> dict[str, Any]:
    """RSS per stored SMS message with status webhooks to a receiver that fails one attempt in five, once every
    message reached its last status and every delivery ended (its attempts, retries included, journalled)."""
    sink = Sink()
    loop = asyncio.get_running_loop()
    receiver = await loop.create_server(lambda: Receiver(sink, fail_every=5), "127.0.0.1", 0)
    receiver_url = f"http://127.0.0.1:{receiver.sockets[0].getsockname()[1]}/status"
    count = opts.webhook_messages
    server = await mock_server(opts, "--history-limit", str(SMS_WEBHOOKS * count)).start(session)  # none pruned
    try:
        url = server.url + "/beta/messages"
        await control(session, server, "PUT", "/_mock/config", {"status_url": receiver_url, "time_scale": 0.01})
        await loadgen(opts, url, SCENARIOS[0].payload, count=1000)
        await settle(session, server)
        await control(session, server, "POST", "/_mock/reset")
        baseline = server.rss()
        await loadgen(opts, url, SCENARIOS[0].payload, count=count)
        health = await settle(session, server)
        after = server.rss()
    finally:
        server.stop()
        receiver.close()
    stored = health["counts"]["messages"]
    return {"messages": stored, "deliveries": health["counts"]["deliveries"], "attempts": sink.count,
            "bytes_per_message": (after - baseline) / stored}


async def empty_account_memory(opts: Options, session: aiohttp.ClientSession) -> dict[str, Any]:
    """RSS per account that holds nothing (made by naming it to the control API), over EMPTY_ACCOUNTS of them."""
    server = await mock_server(opts).start(session)
    try:
        for number in range(10):  # the code paths warm
            await control(session, server, "GET", "/_mock/clock", params={"account": f"warm-{number}"})
        baseline = server.rss()
        for number in range(EMPTY_ACCOUNTS):
            await control(session, server, "GET", "/_mock/clock", params={"account": f"empty-{number}"})
        after = server.rss()
    finally:
        server.stop()
    return {"accounts": EMPTY_ACCOUNTS, "bytes_per_account": (after - baseline) / EMPTY_ACCOUNTS}


async def settle(session: aiohttp.ClientSession, server: Server) -> dict[str, Any]:
    """Wait until every stored message reached its last status and no webhook is pending (no timer left)."""
    while True:
        health = await control(session, server, "GET", "/_mock/health")
        if health["pending_timers"] == 0 and health.get("pending_webhooks", 0) == 0:
            return health
        await asyncio.sleep(0.2)


async def bare_first_202(opts: Options, session: aiohttp.ClientSession) -> float:
    server = await bare_server(opts).start(session)
    server.stop()
    return server.first_202_s


# -- a round and the whole run ------------------------------------------------------------------------
@dataclass
class Round:
    loads: dict[tuple[str, str], Load] = field(default_factory=dict)  # (server, scenario) -> Load
    first_202: dict[str, float] = field(default_factory=dict)
    webhooks: dict[str, Any] = field(default_factory=dict)


async def one_round(opts: Options, session: aiohttp.ClientSession, sink: Sink, receiver_url: str) -> Round:
    result = Round()
    servers = [await bare_server(opts).start(session), await mock_server(opts).start(session)]
    try:
        for server in servers:
            result.first_202[server.name] = server.first_202_s
        for scenario in SCENARIOS:
            for server in servers:  # interleaved, so drift of the machine hits both alike
                result.loads[server.name, scenario.name] = await throughput(opts, session, server, scenario)
        result.webhooks = await webhooks(opts, session, servers[1], sink, receiver_url)
    finally:
        for server in servers:
            server.stop()
    return result


async def bench(opts: Options) -> dict[str, Any]:
    sink = Sink()
    loop = asyncio.get_running_loop()
    receiver = await loop.create_server(lambda: Receiver(sink), "127.0.0.1", 0)
    receiver_url = f"http://127.0.0.1:{receiver.sockets[0].getsockname()[1]}/status"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        rounds = []
        for number in range(opts.rounds):
            print(f"round {number + 1}/{opts.rounds} ...", file=sys.stderr, flush=True)
            rounds.append(await one_round(opts, session, sink, receiver_url))
        print(f"storing {opts.messages:,} messages ...", file=sys.stderr, flush=True)
        mem = await memory(opts, session)
        print(f"storing {opts.webhook_messages:,} messages with webhooks ...", file=sys.stderr, flush=True)
        mem["webhooks"] = await memory_with_webhooks(opts, session)
        print(f"making {EMPTY_ACCOUNTS:,} empty accounts ...", file=sys.stderr, flush=True)
        mem["accounts"] = await empty_account_memory(opts, session)
        bare_start = await bare_first_202(opts, session)
    receiver.close()
    return summarize(opts, rounds, mem, bare_start)


async def memory_webhooks_alone(opts: Options) -> dict[str, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        return await memory_with_webhooks(opts, session)


def scenario_figures(rounds: list[Round], server: str, scenario: Scenario) -> dict[str, Any]:
    """Medians over the rounds; for invalid bodies the mock's rate counts rejections (the bare one accepts)."""
    loads = [r.loads[server, scenario.name] for r in rounds]
    counted = "refused_rate" if server == "mock" and not scenario.valid else "ok_rate"
    return {"rate": statistics.median(getattr(load, counted) for load in loads),
            "p50_ms": statistics.median(load.p50_ms for load in loads),
            "p99_ms": statistics.median(load.p99_ms for load in loads),
            "errors": sum(load.errors for load in loads)}


def paired_ratios(rounds: list[Round], scenario: Scenario) -> dict[str, float]:
    """Medians of the per-round mock/bare ratios: both servers ran side by side in each round, so a slow spell
    of the machine (this one's throughput drifts by 20 % within minutes) cancels out of each ratio."""
    counted = "refused_rate" if not scenario.valid else "ok_rate"
    pairs = [(r.loads["mock", scenario.name], r.loads["bare", scenario.name]) for r in rounds]
    return {"rate": statistics.median(getattr(mock, counted) / bare.ok_rate for mock, bare in pairs),
            "p99": statistics.median(mock.p99_ms / bare.p99_ms for mock, bare in pairs)}


def summarize(opts: Options, rounds: list[Round], mem: dict[str, Any], bare_start: float) -> dict[str, Any]:
    figures: dict[str, Any] = {"machine": machine(opts), "scenarios": {
        scenario.name: {**{server: scenario_figures(rounds, server, scenario) for server in ("mock", "bare")},
                        "ratio": paired_ratios(rounds, scenario)}
        for scenario in SCENARIOS}}
    hooks = [r.webhooks for r in rounds]
    figures["webhooks"] = {"end_to_end_rate": statistics.median(h["end_to_end_rate"] for h in hooks),
                           "accept_rate": statistics.median(h["accept_rate"] for h in hooks),
                           "p99_ms": statistics.median(h["p99_ms"] for h in hooks),
                           "all_delivered": all(h["distinct"] == h["expected"] for h in hooks),
                           "runs": hooks}
    figures["memory"] = mem
    figures["first_202_s"] = {"mock": statistics.median([*(r.first_202["mock"] for r in rounds),
                                                         mem["first_202_s"]]),
                              "bare": statistics.median([*(r.first_202["bare"] for r in rounds), bare_start])}
    figures["access_log_lines"] = sum(1 for _ in (opts.work / "mock.log").open("rb"))
    return figures


# -- the report ---------------------------------------------------------------------------------------
def targets(figures: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target of issue 7."""
    found = []
    for name in ("valid SMS", "Messenger image", "failover workflow", "WhatsApp template (v1)"):
        ratio = figures["scenarios"][name]["ratio"]
        if name != "failover workflow":  # the target is for messages; a workflow is a message and more (README)
            found.append((f"{name}: accepted/s >= 0.7x bare", f"{ratio['rate']:.2f}x", ratio["rate"] >= 0.7))
        found.append((f"{name}: p99 < 3x bare", f"{ratio['p99']:.2f}x", ratio["p99"] < 3))
    for faulted in (s for s in SCENARIOS if s.faults or s.accounts > 1):  # issues 14 and 13
        ratio = figures["scenarios"][faulted.name]["ratio"]["rate"]
        found.append((f"{faulted.name}: accepted/s >= 0.65x bare", f"{ratio:.2f}x", ratio >= 0.65))
    hooks = figures["webhooks"]
    found.append(("webhooks on: >= 1,500 messages/s end to end, every webhook received",
                  f"{hooks['end_to_end_rate']:,.0f}/s, {'all' if hooks['all_delivered'] else 'NOT all'} received",
                  hooks["end_to_end_rate"] >= 1500 and hooks["all_delivered"]))
    per_message = figures["memory"]["bytes_per_message"]
    found.append((f"RSS per stored message ({figures['memory']['messages']:,}) <= 2 KiB", f"{per_message:,.0f} B",
                  per_message <= 2048))
    hooked = figures["memory"]["webhooks"]
    found.append((f"... with webhooks, 1 attempt in 5 failing ({hooked['messages']:,}), deliveries included "
                  "<= 1.8 KiB", f"{hooked['bytes_per_message']:,.0f} B", hooked["bytes_per_message"] <= 1.8 * 1024))
    start = figures["first_202_s"]["mock"]
    found.append(("first 202 within 1 s of start", f"{start:.2f} s", start <= 1.0))
    return found


def report(figures: dict[str, Any]) -> str:
    lines = [f"Machine: {figures['machine']}", "",
             "| Figure | mock | bare aiohttp | mock / bare (median of the rounds' ratios) |", "|---|---:|---:|---:|"]
    for name, row in figures["scenarios"].items():
        mock, bare, ratio = row["mock"], row["bare"], row["ratio"]
        what = "rejected/s (400, problem details)" if name == "invalid bodies" else "accepted/s"
        lines.append(f"| {name}: {what} | {mock['rate']:,.0f} | {bare['rate']:,.0f} | {ratio['rate']:.2f}x |")
        lines.append(f"| {name}: p50 / p99 latency | {mock['p50_ms']:.1f} / {mock['p99_ms']:.1f} ms | "
                     f"{bare['p50_ms']:.1f} / {bare['p99_ms']:.1f} ms | {ratio['p99']:.2f}x (p99) |")
    hooks, mem, start = figures["webhooks"], figures["memory"], figures["first_202_s"]
    run = hooks["runs"][-1]
    hooked = mem["webhooks"]
    per = hooked["messages"]
    lines += [
        f"| valid SMS, status webhooks on: messages/s end to end | {hooks['end_to_end_rate']:,.0f} | — | |",
        f"| ... webhooks received / expected (last round) | {run['received']:,} / {run['expected']:,} | — | |",
        f"| ... accepted/s while delivering; p99 | {hooks['accept_rate']:,.0f}; {hooks['p99_ms']:.1f} ms | — | |",
        f"| RSS: baseline, with {mem['messages']:,} messages stored | {mem['baseline_rss'] / 2**20:.1f} MiB, "
        f"{mem['rss'] / 2**20:.1f} MiB | — | |",
        f"| RSS per stored message | {mem['bytes_per_message']:,.0f} B | — | |",
        f"| ... with status webhooks, 1 attempt in 5 failing: per message, its {hooked['deliveries'] / per:.1f} "
        f"deliveries and {hooked['attempts'] / per:.2f} attempts included | {hooked['bytes_per_message']:,.0f} B "
        "| — | |",
        f"| RSS per empty account (over {mem['accounts']['accounts']:,}) | "
        f"{mem['accounts']['bytes_per_account'] / 1024:,.1f} KiB | — | |",
        f"| valid SMS, store full (each new message prunes the oldest): accepted/s; p99 | "
        f"{mem['full_store_rate']:,.0f}; {mem['full_store_p99_ms']:.1f} ms | — | |",
        f"| first 202 after process start | {start['mock']:.2f} s | {start['bare']:.2f} s | "
        f"{start['mock'] / start['bare']:.2f}x |",
        "", "| Target (issue 7) | measured | met |", "|---|---:|:---:|"]
    lines += [f"| {target} | {measured} | {'yes' if met else '**no**'} |" for target, measured, met in targets(figures)]
    errors = sum(row[s]["errors"] for row in figures["scenarios"].values() for s in ("mock", "bare"))
    lines += ["", f"Socket errors: {errors}. The mock ran with its defaults (log level info: "
                  f"{figures['access_log_lines']:,} log lines written to a file)."]
    if "loadgen.py" in figures["machine"]:
        lines.append("The Python load generator saturates its own core first: install wrk for meaningful ratios.")
    return "\n".join(lines)


def options(argv: list[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round, 0.5 s, 5,000 stored messages")
    parser.add_argument("--seconds", type=float, help="seconds per figure (default 5; --quick 0.5, wrk: 1)")
    parser.add_argument("--rounds", type=int, help="rounds; medians are reported (default 3; --quick 1)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--messages", type=int, help="messages stored for the RSS figure (default 100,000)")
    parser.add_argument("--webhook-messages", type=int,
                        help="messages stored for the RSS figure with webhooks on (default 20,000; --quick 2,000)")
    parser.add_argument("--memory-webhooks-only", action="store_true",
                        help="measure only the RSS figure with webhooks on, and print it")
    parser.add_argument("--loader", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator: wrk when installed (auto), or benchmarks/loadgen.py")
    parser.add_argument("--mock-src", type=Path, default=ROOT,
                        help="measure the mockserver package of this checkout (default: this one)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is not met")
    args = parser.parse_args(argv)
    loader = args.loader if args.loader != "auto" else ("wrk" if shutil.which("wrk") else "python")
    work = Path(tempfile.mkdtemp(prefix="mock-bench-"))
    opts = Options(seconds=args.seconds or (0.5 if args.quick else 5), warmup=0 if args.quick else 1,
                   rounds=args.rounds or (1 if args.quick else 3), connections=args.connections,
                   messages=args.messages or (5_000 if args.quick else 100_000),
                   webhook_messages=args.webhook_messages or (2_000 if args.quick else 20_000), loader=loader,
                   work=work,
                   mock_src=args.mock_src.resolve())
    return opts, args


def main(argv: list[str] | None = None) -> None:
    opts, args = options(argv)
    if pinning():
        os.sched_setaffinity(0, {LOAD_CORE})  # this script, the receiver and the load generator
    try:
        if args.memory_webhooks_only:
            print(json.dumps(asyncio.run(memory_webhooks_alone(opts)), indent=2))
            return
        figures = asyncio.run(bench(opts))
    finally:
        shutil.rmtree(opts.work, ignore_errors=True)
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    if args.check and not all(met for _, _, met in targets(figures)):
        sys.exit(1)


if __name__ == "__main__":
    main()
