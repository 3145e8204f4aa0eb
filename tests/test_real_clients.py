"""The official clients, unchanged, against the mock on real ports: nexmo-node 2.3.1-beta-1 and 2.7.0-beta-1
(run by `node`), and the Python vonage SDK 4.x over TLS with the mock's own CA; each sends SMS, Messenger text and
image, Viber with a category and a failover, and the webhooks that follow are checked. At the API edge (faults, the
rate limit, the balance) each reacts as to the real service: the SDK raises RateLimitedError and ServerError,
nexmo-node's callback gets the error, @vonage/server-sdk rejects naming the status."""

from __future__ import annotations

import asyncio
import json
import shutil
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from vonage import Auth, HttpClientOptions, Vonage
from vonage_messages import (
    MessengerImage,
    MessengerOptions,
    MessengerResource,
    MessengerText,
    Sms,
    ViberText,
    ViberTextOptions,
)

from .support import advance, free_port

REPO = Path(__file__).resolve().parent.parent
NODE_DIR = Path(__file__).resolve().parent / "clients" / "node"
APPLICATION_ID = "aaaaaaaa-bbbb-cccc-dddd-0123456789ab"
API_KEY, API_SECRET = "abcd1234", "s3cr3t"
NODE_CLIENTS = {"nexmo-beta": ("beta", "workflow_uuid"), "nexmo-v01": ("v0.1", "dispatch_uuid")}


@dataclass(frozen=True)
class AppKeys:
    private_pem: str
    private_path: Path
    public_path: Path


@pytest.fixture(scope="module")
def app_keys(tmp_path_factory: pytest.TempPathFactory) -> AppKeys:
    """An application's RSA key pair, as the dashboard would hand out: the clients sign JWTs with it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder = tmp_path_factory.mktemp("keys")
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
    (folder / "private.key").write_text(private_pem)
    (folder / "public.pem").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return AppKeys(private_pem, folder / "private.key", folder / "public.pem")


def strict_auth(keys: AppKeys) -> dict[str, Any]:
    """Strict mode: Basic must carry the right key and secret, and JWTs must verify against the public key."""
    return {"auth": "strict", "api_key": API_KEY, "api_secret": API_SECRET, "public_key": str(keys.public_path),
            "application_id": APPLICATION_ID}


def by_message(bodies: list[dict[str, Any]]) -> dict[str, list[str]]:
    statuses: dict[str, list[str]] = {}
    for body in bodies:
        if "message_uuid" in body:
            statuses.setdefault(body["message_uuid"], []).append(body["status"])
    return statuses


# -- nexmo-node ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def node_clients() -> Path:
    """tests/clients/node with its node_modules, installed from the lock file on first use (a clean clone)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the nexmo-node client tests need them")
    if not all((NODE_DIR / "node_modules" / package).is_dir() for package in NODE_CLIENTS):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, capture_output=True,
                       timeout=300)
    return NODE_DIR


async def run_node(folder: Path, package: str, port: int, keys: AppKeys) -> dict[str, dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        "node", "send.js", package, str(port), str(keys.private_path), APPLICATION_ID, cwd=folder,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    results = [json.loads(line) for line in out.decode().splitlines()]
    return {result["name"]: result for result in results}


@pytest.mark.parametrize("package", sorted(NODE_CLIENTS))
async def test_nexmo_node_beta_client_works_unchanged(make_mock, receiver, contract, node_clients, app_keys, package):
    api, workflow_key = NODE_CLIENTS[package]
    client = await make_mock(status_url=receiver.url(), **strict_auth(app_keys))
    results = await run_node(node_clients, package, client.server.port, app_keys)
    assert [result["error"] for result in results.values()] == [None] * 5
    sent = {name: results[name]["data"]["message_uuid"]
            for name in ("sms", "messenger_text", "messenger_image", "viber")}
    workflow_uuid = results["failover"]["data"][workflow_key]

    await advance(client, 120)
    bodies = receiver.bodies()
    statuses = by_message(bodies)
    assert statuses[sent["sms"]] == ["submitted", "delivered"]
    for name in ("messenger_text", "messenger_image", "viber"):
        assert statuses[sent[name]] == ["submitted", "delivered", "read"], name
    for body in bodies:
        schema = "workflow-report" if "template" in body else "status-webhook"
        assert contract.problems(schema, body) == [], body
    stored = await (await client.get(f"/_mock/messages/{sent['messenger_text']}")).json()
    assert stored["api"] == api
    assert stored["message"]["messenger"] == {"category": "message_tag", "tag": "ticket_update"}
    stored = await (await client.get(f"/_mock/messages/{sent['viber']}")).json()
    assert stored["message"]["viber_service_msg"] == {"category": "transaction", "ttl": 600}

    workflow = await (await client.get(f"/_mock/workflows/{workflow_uuid}")).json()
    assert [(item["channel"], item["state"]) for item in workflow["items"]] == [
        ("messenger", "failed"), ("sms", "delivered")]
    first, second = (item["message_uuid"] for item in workflow["items"])
    assert statuses[first] == ["submitted", "undeliverable"]
    assert statuses[second] == ["submitted", "delivered"]
    links = {body["_links"]["workflow"][workflow_key] for body in bodies if "_links" in body and "template" not in body}
    assert links == {workflow_uuid}
    [report] = [body for body in bodies if "template" in body]
    assert (report[workflow_key], report["status"]) == (workflow_uuid, "completed")


# -- vonage (Python SDK 4.x) over TLS ------------------------------------------------------------------------

@dataclass(frozen=True)
class TlsMock:
    base_url: str
    ca: Path



@pytest.fixture
async def tls_mock(tmp_path: Path, receiver, app_keys: AppKeys) -> AsyncIterator[TlsMock]:
    """`mockserver --tls-self-signed` as a real process, webhooks to the receiver, strict auth, manual clock."""
    port = free_port()
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in strict_auth(app_keys).items()]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mockserver", "--port", str(port), "--clock", "manual", "--tls-self-signed",
        "--tls-dir", str(tmp_path / "tls"), "--status-url", receiver.url(), "--log-level", "warning", *flags,
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        while b"NODE_EXTRA_CA_CERTS" not in (line := await asyncio.wait_for(process.stdout.readline(), 20)):
            assert line, "the mock exited before serving"
        mock = TlsMock(f"https://localhost:{port}", (tmp_path / "tls" / "ca.pem").resolve())
        await wait_until_serving(mock)
        yield mock
    finally:
        process.terminate()
        await process.wait()


async def control(mock: TlsMock, method: str, path: str, body: Any = None) -> Any:
    context = ssl.create_default_context(cafile=str(mock.ca))
    async with aiohttp.ClientSession() as session, session.request(
            method, mock.base_url + path, json=body, ssl=context) as response:
        assert response.status < 300, await response.text()
        return await response.json()


async def wait_until_serving(mock: TlsMock) -> None:
    for _ in range(200):
        try:
            await control(mock, "GET", "/_mock/health")
            return
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.05)  # the process is still binding its port
    raise AssertionError("the mock did not start serving https")


def send_with_vonage(port_host: str, auth: Auth) -> dict[str, Any]:
    """The SDK's own models and client, as a user's app would call them (blocking: run in a thread)."""
    messages = Vonage(auth, HttpClientOptions(api_host=port_host)).messages
    psid, page = "1234567890123456", "9876543210"
    return {
        "sms": messages.send(Sms(to="447700900000", from_="447700900001", text="Hello", client_ref="sdk-1")),
        "messenger_text": messages.send(MessengerText(
            to=psid, from_=page, text="Hi", messenger=MessengerOptions(category="message_tag", tag="ticket_update"))),
        "messenger_image": messages.send(MessengerImage(
            to=psid, from_=page, image=MessengerResource(url="https://example.com/cat.jpg"))),
        "viber": messages.send(ViberText(to="447700900000", from_="viber-service-id", text="Hi",
                                         viber_service=ViberTextOptions(category="transaction", ttl=600))),
        "failover": messages.send(MessengerText(to="magic-barred", from_=page, text="Hi"),
                                  failover=[Sms(to="447700900000", from_="447700900001", text="Hi by SMS")]),
    }


@pytest.mark.parametrize("auth_kind", ["basic", "jwt"])
async def test_vonage_python_sdk_works_over_tls_with_the_mocks_ca(tls_mock, receiver, contract, app_keys,
                                                                  monkeypatch, auth_kind):
    auth = (Auth(api_key=API_KEY, api_secret=API_SECRET) if auth_kind == "basic"
            else Auth(application_id=APPLICATION_ID, private_key=app_keys.private_pem))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_mock.ca))  # what the mock printed at start
    answers = await asyncio.to_thread(send_with_vonage, tls_mock.base_url.removeprefix("https://"), auth)
    assert [answer.workflow_id is None for answer in answers.values()] == [True] * 4 + [False]

    await control(tls_mock, "POST", "/_mock/clock/advance", {"seconds": 120})
    bodies = receiver.bodies()
    assert all(contract.problems("v1/status-webhook", body) == [] for body in bodies)
    statuses = by_message(bodies)
    assert statuses[answers["sms"].message_uuid] == ["submitted", "delivered"]
    for name in ("messenger_text", "messenger_image", "viber"):
        assert statuses[answers[name].message_uuid] == ["submitted", "delivered", "read"], name
    assert {body["client_ref"] for body in bodies if "client_ref" in body} == {"sdk-1"}

    failover = answers["failover"]
    assert statuses[failover.message_uuid] == ["rejected"]
    workflow = await control(tls_mock, "GET", f"/_mock/workflows/{failover.workflow_id}")
    assert [(item["channel"], item["state"]) for item in workflow["items"]] == [
        ("messenger", "failed"), ("sms", "delivered")]
    assert statuses[workflow["items"][1]["message_uuid"]] == ["submitted", "delivered"]
    assert {body["workflow"]["workflow_id"] for body in bodies if "workflow" in body} == {failover.workflow_id}


# -- errors at the API edge: each client reacts as to the real service --------------------------------------

async def run_node_errors(folder: Path, port: int, keys: AppKeys) -> dict[str, dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        "node", "errors.js", str(port), str(keys.private_path), APPLICATION_ID, cwd=folder,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return {result["name"]: result for result in map(json.loads, out.decode().splitlines())}


@pytest.mark.parametrize("status", [429, 500])
async def test_node_clients_hand_back_the_edges_error(make_mock, node_clients, app_keys, status):
    client = await make_mock()
    fault = {"match": {"method": "POST"}, "status": status, "retry_after": 1, "times": 2}
    assert (await client.post("/_mock/faults", json=fault)).status == 201
    results = await run_node_errors(node_clients, client.server.port, app_keys)
    nexmo = results["nexmo-node"]
    assert nexmo["data"] is None and nexmo["error"]["statusCode"] == status  # the callback gets the error
    vonage = results["@vonage/server-sdk"]
    assert vonage["error"] == {"message": f"Request failed with status code {status}", "status": status}
    assert (await (await client.get("/_mock/messages")).json())["messages"] == []
    [hit] = (await (await client.get("/_mock/faults")).json())["faults"]
    assert hit["hits"] == 2


async def test_vonage_python_sdk_raises_rate_limited_and_server_errors(tls_mock, monkeypatch):
    from vonage_http_client.errors import RateLimitedError, ServerError

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_mock.ca))
    for fault in ({"match": {"path": "/v1/messages"}, "status": 429, "retry_after": 1, "times": 1},
                  {"match": {"path": "/v1/messages"}, "status": 500, "times": 1}):
        await control(tls_mock, "POST", "/_mock/faults", fault)
    messages = Vonage(Auth(api_key=API_KEY, api_secret=API_SECRET),
                      HttpClientOptions(api_host=tls_mock.base_url.removeprefix("https://"))).messages

    def send() -> Any:
        return messages.send(Sms(to="447700900000", from_="447700900001", text="Hello"))

    with pytest.raises(RateLimitedError) as limited:
        await asyncio.to_thread(send)
    assert limited.value.response.headers["Retry-After"] == "1"
    assert limited.value.response.json()["title"] == "Rate Limit Hit"
    with pytest.raises(ServerError):
        await asyncio.to_thread(send)
    assert (await asyncio.to_thread(send)).message_uuid


async def test_vonage_python_sdk_reads_the_balance_and_meets_the_rate_limit(tls_mock, monkeypatch):
    from vonage_http_client.errors import HttpRequestError, RateLimitedError

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_mock.ca))
    host = tls_mock.base_url.removeprefix("https://")
    vonage = Vonage(Auth(api_key=API_KEY, api_secret=API_SECRET), HttpClientOptions(api_host=host, rest_host=host))
    await control(tls_mock, "PUT", "/_mock/config", {"balance": 0.05})
    balance = await asyncio.to_thread(vonage.account.get_balance)
    assert (balance.value, balance.auto_reload) == (0.05, False)
    await control(tls_mock, "PUT", "/_mock/config", {"rate_limit": 1})

    def send() -> Any:
        return vonage.messages.send(Sms(to="447700900000", from_="447700900001", text="Hello"))

    await asyncio.to_thread(send)
    with pytest.raises(RateLimitedError):
        await asyncio.to_thread(send)
    await control(tls_mock, "POST", "/_mock/clock/advance", {"seconds": 5})  # charged at submitted; a new token
    assert (await asyncio.to_thread(vonage.account.get_balance)).value == pytest.approx(0.05 - 0.0333)
    await control(tls_mock, "POST", "/_mock/clock/advance", {"seconds": 1})
    with pytest.raises(HttpRequestError) as low:
        await asyncio.to_thread(send)
    assert low.value.response.status_code == 402
