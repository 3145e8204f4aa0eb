"""The official clients drive the Applications API unchanged: the vonage Python SDK's `client.application`
creates, lists, updates and deletes applications, and the application's generated key signs a send that strict
auth verifies and whose webhooks reach the application's own URL; @vonage/server-sdk's `applications` too."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from vonage import Auth, HttpClientOptions, Vonage
from vonage_application import (
    ApplicationConfig,
    ApplicationUrl,
    Capabilities,
    ListApplicationsFilter,
    Messages,
    MessagesWebhooks,
)
from vonage_http_client.errors import AuthenticationError, NotFoundError
from vonage_messages import Sms

from mockserver.client import MockServer

API_KEY, API_SECRET = "acme1234", "s3cr3t"
NODE = Path(__file__).parent / "clients" / "node"


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MockServer]:
    """The mock over https (the SDK speaks only https), strict auth with one account's key and secret."""
    tls_dir = tmp_path / "tls"
    settings = {"tls_self_signed": True, "tls_dir": str(tls_dir), "clock": "manual", "auth": "strict",
                "api_key": API_KEY, "api_secret": API_SECRET, "status_url": "http://127.0.0.1:9/default"}
    with MockServer(settings) as server:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_dir / "ca.pem"))
        yield server


def vonage(server: MockServer, auth: Auth) -> Vonage:
    host = server.url.removeprefix("https://")
    return Vonage(auth, HttpClientOptions(api_host=host))


async def test_vonage_python_sdk_manages_applications_and_sends_with_ones_key(tls_server, receiver):
    applications = vonage(tls_server, Auth(api_key=API_KEY, api_secret=API_SECRET)).application
    webhooks = MessagesWebhooks(status_url=ApplicationUrl(address=receiver.url("/app/status"), http_method="POST"),
                                inbound_url=ApplicationUrl(address=receiver.url("/app/inbound"), http_method="POST"))
    config = ApplicationConfig(name="shop", capabilities=Capabilities(messages=Messages(webhooks=webhooks,
                                                                                       version="v1")))
    created = await asyncio.to_thread(applications.create_application, config)
    assert created.name == "shop" and created.keys.private_key.startswith("-----BEGIN PRIVATE KEY-----")
    assert created.link == f"/v2/applications/{created.id}"

    listed, next_page = await asyncio.to_thread(applications.list_applications, ListApplicationsFilter(page_size=10))
    assert [app.id for app in listed] == [created.id] and next_page is None
    assert (await asyncio.to_thread(applications.get_application, created.id)).keys.public_key == \
        created.keys.public_key

    messages = vonage(tls_server, Auth(application_id=created.id, private_key=created.keys.private_key)).messages
    sent = await asyncio.to_thread(messages.send, Sms(to="447700900000", from_="447700900001", text="Hello"))
    await asyncio.to_thread(tls_server.client().advance, 60)
    statuses = receiver.bodies("/app/status")
    assert [(body["message_uuid"], body["status"]) for body in statuses] == [(sent.message_uuid, "submitted"),
                                                                               (sent.message_uuid, "delivered")]

    renamed = ApplicationConfig(name="renamed", capabilities=Capabilities(messages=Messages(version="v0.1")))
    updated = await asyncio.to_thread(applications.update_application, created.id, renamed)
    assert updated.name == "renamed" and updated.capabilities.messages.version == "v0.1"
    await asyncio.to_thread(applications.delete_application, created.id)
    with pytest.raises(NotFoundError):
        await asyncio.to_thread(applications.get_application, created.id)
    with pytest.raises(AuthenticationError):  # the application is gone, and its key with it
        await asyncio.to_thread(messages.send, Sms(to="447700900000", from_="447700900001", text="Hello"))


def test_vonage_python_sdk_gets_401_with_a_wrong_secret(tls_server):
    applications = vonage(tls_server, Auth(api_key=API_KEY, api_secret="wrong")).application
    with pytest.raises(AuthenticationError):
        applications.list_applications()


NODE_SCRIPT = """
const { Vonage } = require("@vonage/server-sdk");
const [apiKey, apiSecret, apiHost] = process.argv.slice(1);  // node -e: the arguments start at 1
const vonage = new Vonage({ apiKey, apiSecret }, { apiHost });
(async () => {
  const created = await vonage.applications.createApplication({ name: "node app", capabilities: { messages: {
    webhooks: { statusUrl: { address: "http://127.0.0.1:9/s", httpMethod: "POST" } }, version: "v1" } } });
  const page = await vonage.applications.getApplicationPage({ page: 1, pageSize: 10 });
  const got = await vonage.applications.getApplication(created.id);
  const updated = await vonage.applications.updateApplication({ ...got, name: "renamed" });
  await vonage.applications.deleteApplication(created.id);
  let gone = null;
  try { await vonage.applications.getApplication(created.id); } catch (error) { gone = error.response.status; }
  console.log(JSON.stringify({ created: { id: created.id, name: created.name,
    privateKey: Boolean(created.keys.privateKey) }, total: page.totalItems, got: got.name,
    updated: updated.name, gone }));
})().catch((error) => { console.log(JSON.stringify({ error: String(error) })); process.exit(1); });
"""


def test_vonage_node_sdk_manages_applications(make_mock_process):
    if shutil.which("node") is None or not (NODE / "node_modules" / "@vonage" / "server-sdk").is_dir():
        pytest.fail("node and tests/clients/node/node_modules are needed: npm ci --prefix tests/clients/node")
    url = make_mock_process
    done = subprocess.run(["node", "-e", NODE_SCRIPT, API_KEY, API_SECRET, url], cwd=NODE, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert answer["created"]["name"] == "node app" and answer["created"]["privateKey"] is True
    assert (answer["total"], answer["got"], answer["updated"], answer["gone"]) == (1, "node app", "renamed", 404)


@pytest.fixture
def make_mock_process() -> Iterator[str]:
    """A plain-http mock process (the Node SDK takes any apiHost), strict auth."""
    with MockServer({"clock": "manual", "auth": "strict", "api_key": API_KEY, "api_secret": API_SECRET}) as server:
        yield server.url
