"""The state file (`--state-file`): SQLite that keeps the mock's state across restarts, `kill -9` included.

Kept: messages (status history and the statuses still planned), workflows, webhook deliveries (the outbox, every
attempt), user rules, run-time config changes and the simulated clock. Changes reach the file in batches, one
transaction each: a request is answered only once what it changed is committed (requests handled in the same
turn of the event loop share one commit), and what timers and webhook attempts change follows within
FLUSH_DELAY. Each batch is a consistent snapshot, so a restart resumes from a state the mock really was in.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from .api.errors import API_ERRORS, Handler, Problem
from .config import ConfigError
from .simulation.clock import iso
from .simulation.events import Event
from .simulation.models import Message, Workflow
from .simulation.rules import Rule
from .webhooks import Delivery

if TYPE_CHECKING:
    from .mock import Mock

log = logging.getLogger("mockserver.state")
SCHEMA_VERSION = 1
# Seconds within which what timers and webhook attempts change is written; a kill -9 can replay that much.
FLUSH_DELAY = 0.05
EVENT_TABLES = {"message.accepted": "messages", "message.status": "messages", "message.timed": "messages",
                "inbound.received": "messages",
                "workflow.accepted": "workflows", "workflow.updated": "workflows", "workflow.finished": "workflows",
                "webhook.queued": "deliveries", "webhook.attempt": "deliveries"}
PENDING_DELIVERY = ("pending", "retrying")


class Table:
    """One kind of record in the file, named as the MemoryStore's dict of it, and what changed since the last commit.

    Rows are numbered in insertion order (appending is what SQLite does fastest; random uuid keys would scatter
    every commit over the index), so the row number of each record is kept here. `body` holds the bytes that
    never change (the request, the webhook payload), written once; `data` the JSON record.
    """

    def __init__(self, name: str, key: str, body: Callable[[Any], bytes], load: Callable[[bytes, bytes], Any]) -> None:
        self.name, self.key, self.body, self.load = name, key, body, load
        self.seqs: dict[str, int] = {}
        self.last_seq = 0
        self.dirty: dict[str, Any] = {}
        self.gone: list[str] = []

    def note(self, record: Any) -> None:
        self.dirty[getattr(record, self.key)] = record

    def forget(self, key: str) -> None:
        self.dirty.pop(key, None)
        self.gone.append(key)

    def clear(self) -> None:
        self.dirty.clear()
        self.gone.clear()

    def read(self, db: sqlite3.Connection) -> Iterator[Any]:
        for seq, body, data in db.execute(f"SELECT seq, body, data FROM {self.name} ORDER BY seq"):
            record = self.load(body, data)
            self.seqs[getattr(record, self.key)] = self.last_seq = seq
            yield record

    def write(self, db: sqlite3.Connection, live: dict[str, Any], fresh: bool) -> Callable[[], None]:
        """Write the changes inside the open transaction (`fresh`: after emptying the table); returns what to
        apply once the transaction is committed."""
        seqs, seq = ({}, 0) if fresh else (self.seqs, self.last_seq)
        added: dict[str, int] = {}
        inserts, updates = [], []
        for key, record in self.dirty.items():
            if live.get(key) is not record:
                continue  # pruned or reset meanwhile
            data = orjson.dumps(record.to_record())
            if key in seqs:
                updates.append((data, seqs[key]))
            else:
                seq += 1
                added[key] = seq
                inserts.append((seq, self.body(record), data))
        deletes = [(seqs[key],) for key in self.gone if key in seqs]
        if fresh:
            db.execute(f"DELETE FROM {self.name}")
        if inserts:
            db.executemany(f"INSERT INTO {self.name} (seq, body, data) VALUES (?, ?, ?)", inserts)
        if updates:
            db.executemany(f"UPDATE {self.name} SET data = ? WHERE seq = ?", updates)
        if deletes:
            db.executemany(f"DELETE FROM {self.name} WHERE seq = ?", deletes)

        def apply() -> None:
            if fresh:
                self.seqs = {}
            for key in self.gone:
                self.seqs.pop(key, None)
            self.seqs.update(added)
            self.last_seq = seq
            self.clear()

        return apply


def _tables() -> dict[str, Table]:
    return {table.name: table for table in (
        Table("messages", "message_uuid", lambda m: m.raw,
              lambda body, data: Message.from_record(orjson.loads(data), body)),
        Table("workflows", "workflow_uuid", lambda w: b"", lambda body, data: Workflow.from_record(orjson.loads(data))),
        Table("deliveries", "id", lambda d: d.body,
              lambda body, data: Delivery.from_record(orjson.loads(data), body)))}


class StateFileError(ConfigError):
    """The state file cannot be opened or written."""


def _connect(path: str) -> sqlite3.Connection:
    """Open (or create) the file, locked for this process only: two mocks must never share one state."""
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:
            _prepare(db, path)
        except BaseException:
            db.close()
            raise
    except sqlite3.Error as exc:
        hint = " (is another mock using it?)" if "locked" in str(exc) else ""
        raise StateFileError(f"state file {path}: {exc}{hint}") from exc
    return db


def _prepare(db: sqlite3.Connection, path: str) -> None:
    db.execute("PRAGMA locking_mode=EXCLUSIVE")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # a commit survives the process dying, not the machine
    db.execute("BEGIN EXCLUSIVE")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, SCHEMA_VERSION):
        raise StateFileError(f"state file {path}: written by another version (schema {version})")
    for table in _tables():
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (seq INTEGER PRIMARY KEY, body BLOB NOT NULL, "
                   "data BLOB NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, data BLOB NOT NULL)")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    db.execute("COMMIT")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading creates millions of objects that all live on: collecting meanwhile would make it quadratic."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _resumed_now(saved: dict[str, Any]) -> float:
    """A running clock kept running while the mock was down (scaled); a manual one stood still."""
    if saved["mode"] != "real":
        return saved["now"]
    return max(saved["now"], saved["now"] + (time.time() - saved["wall"]) / saved["time_scale"])


class StateFile:
    def __init__(self, path: str, mock: Mock) -> None:
        self.path = path
        self.mock = mock
        self.db = _connect(path)
        self.closed = False
        self._tables = _tables()
        self._meta: dict[str, Any] = {}
        self._config: dict[str, Any] = {}
        self._reset = False
        self._saved_anchor: tuple[Any, ...] | None = None
        self._saved_pruned = dict(mock.store.pruned)
        self._timer: asyncio.TimerHandle | None = None
        self._commit: asyncio.Future[None] | None = None
        mock.bus.subscribe(self._on_event, (*EVENT_TABLES, "rules.changed", "config.changed", "mock.reset"))
        mock.store.on_prune = lambda table, key: self._tables[table].forget(key)

    # -- restoring ------------------------------------------------------------------------------
    def restore(self) -> None:
        """Load the saved state into the mock, then resume its timers and webhooks (once, on the running loop)."""
        mock = self.mock
        meta = {key: orjson.loads(data) for key, data in self.db.execute("SELECT key, data FROM meta")}
        if "config" in meta:
            mock.update_config(meta["config"])
        if "rules" in meta:
            mock.rules.user = [Rule.from_dict(data) for data in meta["rules"]]
        if "clock" in meta:
            mock.clock.resume_at(_resumed_now(meta["clock"]))
        mock.store.pruned.update(meta.get("pruned", {}))
        self._saved_pruned = dict(mock.store.pruned)
        with _gc_paused():
            self._load_records()
            self._resume_timers()
        counts = mock.store.counts()
        if not meta and not any(counts.values()):
            log.info("state file %s: new; the mock's state will be kept there", self.path)
            return
        log.info("state file %s: restored %d messages, %d workflows, %d webhook deliveries (%d pending); "
                 "%d timers resume; clock at %s", self.path, counts["messages"], counts["workflows"],
                 counts["deliveries"], mock.webhooks.pending_count(), mock.clock.pending, mock.clock.now_iso())

    def _load_records(self) -> None:
        store = self.mock.store
        adders = {"messages": store.add_message, "workflows": store.add_workflow, "deliveries": store.add_delivery}
        for name, add in adders.items():
            for record in self._tables[name].read(self.db):
                add(record)

    def _resume_timers(self) -> None:
        store, mock = self.mock.store, self.mock
        for message in store.messages.values():
            if message.plan:
                mock.engine.resume(message)
        for workflow in store.workflows.values():
            mock.failover.resume(workflow)
        for delivery in store.deliveries.values():
            if delivery.state in PENDING_DELIVERY:
                mock.webhooks.resume(delivery)

    # -- noting changes -------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        table = EVENT_TABLES.get(event.type)
        if table is not None:
            self._tables[table].note(event.subject)
        elif event.type == "rules.changed":
            self._meta["rules"] = [rule.to_dict() for rule in event.subject.user]
        elif event.type == "config.changed":
            self._note_config(event.detail or {})
        else:  # mock.reset: the types subscribed to are these
            self._note_reset()
        self._schedule()

    def _note_config(self, changes: dict[str, Any]) -> None:
        """Keep the run-time changes (not the whole config), so a restart with other flags keeps the rest."""
        self._config.update({key: value for key, value in changes.items() if key != "profiles"})
        if "profiles" in changes:
            self._config["profiles"] = self.mock.profile_overrides
        self._meta["config"] = self._config

    def _note_reset(self) -> None:
        self._reset = True
        for table in self._tables.values():
            table.clear()
        self._meta.pop("rules", None)

    def _schedule(self) -> None:
        if self._timer is None and not self.closed:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_DELAY, self.flush)

    def _changed(self) -> bool:
        return (self._reset or bool(self._meta) or any(t.dirty or t.gone for t in self._tables.values())
                or self.mock.clock.anchor != self._saved_anchor or self.mock.store.pruned != self._saved_pruned)

    # -- writing --------------------------------------------------------------------------------
    async def committed(self) -> None:
        """Return once every change so far is in the file: a request awaits this before it is answered."""
        if not self._changed():
            return
        if self.closed:
            raise StateFileError(f"state file {self.path} is closed: the mock is shutting down")
        if self._commit is None:
            loop = asyncio.get_running_loop()
            self._commit = loop.create_future()
            loop.call_soon(self.flush)
        await asyncio.shield(self._commit)

    def flush(self) -> None:
        """Write every change so far in one transaction, and wake the requests waiting for it."""
        if self._timer:
            self._timer.cancel()
            self._timer = None
        waiting, self._commit = self._commit, None
        try:
            if not self.closed and self._changed():
                self._write()
        except sqlite3.Error as exc:
            log.error("state file %s: cannot write: %s", self.path, exc)
            if waiting:
                waiting.set_exception(StateFileError(f"state file {self.path}: {exc}"))
            return
        if waiting:
            waiting.set_result(None)

    def _write(self) -> None:
        db, store = self.db, self.mock.store
        anchor, pruned = self.mock.clock.anchor, dict(store.pruned)
        meta = self._meta_rows(anchor, pruned)
        db.execute("BEGIN")
        try:
            applies = [table.write(db, getattr(store, name), self._reset) for name, table in self._tables.items()]
            if self._reset:
                db.execute("DELETE FROM meta WHERE key = 'rules'")
            if meta:
                db.executemany("INSERT INTO meta (key, data) VALUES (?, ?) "
                               "ON CONFLICT(key) DO UPDATE SET data = excluded.data", meta)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        for apply in applies:
            apply()
        self._saved_anchor, self._saved_pruned = anchor, pruned
        self._reset = False
        self._meta.clear()

    def _meta_rows(self, anchor: tuple[Any, ...], pruned: dict[str, int]) -> list[tuple[str, bytes]]:
        clock = self.mock.clock
        rows = [(key, orjson.dumps(value)) for key, value in self._meta.items()]
        if anchor != self._saved_anchor:
            rows.append(("clock", orjson.dumps({"mode": clock.mode, "now": clock.now(), "wall": time.time(),
                                                "time_scale": clock.time_scale})))
        if pruned != self._saved_pruned:
            rows.append(("pruned", orjson.dumps(pruned)))
        return rows

    def close(self) -> None:
        """The last flush; then the file is closed and says what will resume at the next start."""
        self.flush()
        self.closed = True
        self.db.close()
        store, counts = self.mock.store, self.mock.store.counts()
        log.info("state file %s: kept %d messages (%d with statuses to come), %d workflows (%d in progress), "
                 "%d webhook deliveries (%d pending), clock at %s; they resume at the next start", self.path,
                 counts["messages"], sum(1 for m in store.messages.values() if m.plan), counts["workflows"],
                 sum(1 for w in store.workflows.values() if w.status == "in_progress"), counts["deliveries"],
                 sum(1 for d in store.deliveries.values() if d.state in PENDING_DELIVERY),
                 iso(self.mock.clock.now()))


def commit_middleware(state: StateFile) -> Callable[[web.Request, Handler], Any]:
    """A request is answered only once what it changed is in the state file (so a 202 survives kill -9)."""

    @web.middleware
    async def commit_first(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)  # handlers answer their own problems
        try:
            await state.committed()
        except StateFileError as exc:  # e.g. the disk is full, or shutdown closed the file
            log.error("%s %s not confirmed: %s", request.method, request.path, exc)
            return Problem(503, f"{API_ERRORS}#state-file", "State file unavailable",
                           f"What this request changed could not be saved: {exc}").response()
        return response

    return commit_first
