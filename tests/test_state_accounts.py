"""The state file keeps each account's records and settings apart, and takes over a file of schema 1."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import orjson

from mockserver.accounts import Accounts
from mockserver.api.generations import WEBHOOK_RENDERERS
from mockserver.config import Settings
from mockserver.persistence import StateFile
from mockserver.simulation.commands import SendMessage


def _sms(to: str) -> SendMessage:
    return SendMessage(channel="sms", to={"type": "sms", "number": to}, sender={"type": "sms", "number": "4477"},
                       message={"content": {"type": "text", "text": "hi"}}, generation="beta")


async def _restart(settings: Settings, accounts: Accounts) -> Accounts:
    await accounts.state.committed()
    await accounts.close()
    accounts.state.close(accounts.by_account())
    again = Accounts(settings, WEBHOOK_RENDERERS)
    again.start()
    return again


async def test_two_accounts_keep_their_own_records_rules_and_clocks_across_a_restart(tmp_path):
    settings = Settings(clock="manual", state_file=str(tmp_path / "mock.db"), start_time="2024-01-01T00:00:00Z")
    accounts = Accounts(settings, WEBHOOK_RENDERERS)
    accounts.start()
    first = accounts["team-a"].send_message(_sms("447700900000"))
    accounts["team-b"].add_rule({"match": {"to": "447700900111"}, "outcome": "rejected", "error_code": 1020})
    await accounts["team-b"].advance(seconds=90)

    accounts = await _restart(settings, accounts)
    a, b = accounts["team-a"], accounts["team-b"]
    assert [m.message_uuid for m in a.messages()] == [first.message_uuid] and b.messages() == []
    assert [r.to for r in b.rules.user] == ["447700900111"] and a.rules.user == []
    assert a.clock.now_iso() == "2024-01-01T00:00:00.000Z" and b.clock.now_iso() == "2024-01-01T00:01:30.000Z"
    await accounts.close()
    accounts.state.close(accounts.by_account())


def _schema_1_file(path: str) -> None:
    """A state file as version 0.1.0 wrote it: one state, workflow items holding their beta request."""
    db = sqlite3.connect(path)
    for table in ("messages", "workflows", "deliveries"):
        db.execute(f"CREATE TABLE {table} (seq INTEGER PRIMARY KEY, body BLOB NOT NULL, data BLOB NOT NULL)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, data BLOB NOT NULL)")
    request = {"to": {"type": "sms", "number": "447700900000"}, "from": {"type": "sms", "number": "4477"},
               "message": {"content": {"type": "text", "text": "hi"}},
               "workflow_item": {"item_number": "1", "items_number": "2"}}
    message = {"message_uuid": "m1", "channel": "sms", "direction": "outbound", "recipient": "447700900000",
               "peer": "447700900000", "created_at": 1e9, "api": "v1", "workflow_uuid": "w1",
               "workflow_kind": "failover", "history": [["accepted", 1e9, None, None]], "plan": None, "timed": True}
    item = {"index": 0, "channel": "sms", "request": {**request, "failover": {"condition_status": "delivered"}},
            "failover": {"condition_status": "delivered"}, "state": "sent", "message_uuid": "m1",
            "sent_at": 1e9, "ended_at": None, "decision": None}
    workflow = {"workflow_uuid": "w1", "kind": "failover", "template": "failover", "items": [item],
                "created_at": 1e9, "api": "v1", "status": "in_progress", "ended_at": None, "current": 0}
    db.execute("INSERT INTO messages VALUES (1, ?, ?)", (orjson.dumps(request), orjson.dumps(message)))
    db.execute("INSERT INTO workflows VALUES (1, x'', ?)", (orjson.dumps(workflow),))
    db.execute("INSERT INTO meta VALUES ('rules', ?)", (orjson.dumps([{"id": "r1", "match": {"to": "1"},
                                                                      "outcome": "read"}]),))
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


async def test_a_schema_1_state_file_becomes_the_default_account(tmp_path):
    path = str(tmp_path / "old.db")
    _schema_1_file(path)
    accounts = Accounts(Settings(clock="manual", state_file=path), WEBHOOK_RENDERERS)
    accounts.start()
    default = accounts.default
    message = default.message("m1")
    assert (message.item_number, message.items_number) == (1, 2)
    item = default.workflow("w1").items[0]
    assert item.command.to == {"type": "sms", "number": "447700900000"} and item.command.generation == "v1"
    assert item.failover.condition_status == "delivered" and item.channel == "sms"
    assert [rule.id for rule in default.rules.user] == ["r1"]
    await accounts.close()
    accounts.state.close(accounts.by_account())


def test_a_state_file_with_an_unreadable_record_stops_the_start_with_one_line(tmp_path):
    path = tmp_path / "bad.db"
    _schema_1_file(str(path))
    StateFile(str(path)).close({})  # now of schema 2
    db = sqlite3.connect(path)
    db.execute("UPDATE messages SET data = 'not json'")
    db.commit()
    db.close()
    done = subprocess.run([sys.executable, "-m", "mockserver", "--port", "0", "--state-file", str(path)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "messages row 1 of account default cannot be read" in done.stderr
