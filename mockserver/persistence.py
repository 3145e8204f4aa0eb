"""The state file (`--state-file`): SQLite that keeps every account's state across restarts, `kill -9` included.

Each account's records live in a FileStore: the memory store, which also notes each record added, saved or
pruned. Kept: messages (status history and the statuses still planned), workflows, webhook deliveries (the outbox,
every attempt), and per account its user rules, run-time config changes and simulated clock. Changes reach the
file in batches, one transaction each: a request is answered only once what it changed is committed (requests
handled in the same turn of the event loop share one commit), and what timers and webhook attempts change follows
within FLUSH_DELAY. Each batch is a consistent snapshot, so a restart resumes from a state the mock really was in.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson

from .config import ConfigError
from .deliveries import Delivery
from .memory_store import MemoryStore
from .simulation.models import Message, Workflow

if TYPE_CHECKING:
    from .backend import Backend

log = logging.getLogger("mockserver.state")
SCHEMA_VERSION = 2  # 2: records and settings per account
# Seconds within which what timers and webhook attempts change is written; a kill -9 can replay that much.
FLUSH_DELAY = 0.05
TABLES = ("messages", "workflows", "deliveries")
DEFAULT_ACCOUNT = "default"


class StateFileError(ConfigError):
    """The state file cannot be opened or written."""


class Table:
    """One kind of record of one account, and what changed since the last commit.

    Rows are numbered in insertion order (appending is what SQLite does fastest; random uuid keys would scatter
    every commit over the index), so the row number of each record is kept here. `body` holds the bytes that
    never change (the request, the webhook payload), written once; `data` the JSON record.
    """

    def __init__(self, name: str, key: str, body: Callable[[Any], bytes], load: Callable[[bytes, bytes], Any]) -> None:
        self.name, self.key, self.body, self.load = name, key, body, load
        self.seqs: dict[str, int] = {}
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

    def read(self, db: sqlite3.Connection, account: str) -> Iterator[Any]:
        rows = db.execute(f"SELECT seq, body, data FROM {self.name} WHERE account = ? ORDER BY seq", (account,))
        for seq, body, data in rows:
            try:
                record = self.load(body, data)
            except (ValueError, KeyError, TypeError) as exc:  # orjson's errors are ValueErrors
                raise StateFileError(f"{self.name} row {seq} of account {account} cannot be read: "
                                     f"{type(exc).__name__}: {exc}") from None
            self.seqs[getattr(record, self.key)] = seq
            yield record

    def write(self, db: sqlite3.Connection, account: str, live: dict[str, Any], fresh: bool,
              next_seq: dict[str, int]) -> Callable[[], None]:
        """Write the changes inside the open transaction (`fresh`: after emptying the account's rows), numbering
        new rows from `next_seq`; returns what to apply once the transaction is committed."""
        seqs = {} if fresh else self.seqs
        added: dict[str, int] = {}
        inserts, updates = [], []
        for key, record in self.dirty.items():
            if live.get(key) is not record:
                continue  # pruned or reset meanwhile
            data = orjson.dumps(record.to_record())
            if key in seqs:
                updates.append((data, seqs[key]))
            else:
                next_seq[self.name] += 1
                added[key] = next_seq[self.name]
                inserts.append((added[key], account, self.body(record), data))
        deletes = [(seqs[key],) for key in self.gone if key in seqs]
        if fresh:
            db.execute(f"DELETE FROM {self.name} WHERE account = ?", (account,))
        if inserts:
            db.executemany(f"INSERT INTO {self.name} (seq, account, body, data) VALUES (?, ?, ?, ?)", inserts)
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
            self.clear()

        return apply


def _tables() -> dict[str, Table]:
    return {table.name: table for table in (
        Table("messages", "message_uuid", lambda m: m.raw,
              lambda body, data: Message.from_record(orjson.loads(data), body)),
        Table("workflows", "workflow_uuid", lambda w: b"", lambda body, data: Workflow.from_record(orjson.loads(data))),
        Table("deliveries", "id", lambda d: d.body,
              lambda body, data: Delivery.from_record(orjson.loads(data), body)))}


class FileStore(MemoryStore):
    """One account's records in memory, each change also noted for the state file's next commit."""

    def __init__(self, file: StateFile, account: str, now: Callable[[], float], history_limit: int) -> None:
        super().__init__(now, history_limit)
        self.file = file
        self.account = account
        self.tables = _tables()
        self.dirty_settings: dict[str, Any] = {}
        self.fresh = False  # reset since the last commit: the account's rows go first
        self._saved_pruned = dict(self.pruned)
        self._loading = False

    def load(self, db: sqlite3.Connection, settings: dict[str, Any]) -> None:
        """Fill the store with what the file holds for its account (nothing noted: it is there already)."""
        self._loading = True
        try:
            self.pruned.update(settings.pop("pruned", {}))
            self._saved_pruned = dict(self.pruned)
            self._settings.update(settings)
            adders = {"messages": self.add_message, "workflows": self.add_workflow, "deliveries": self.add_delivery}
            for name, add in adders.items():
                for record in self.tables[name].read(db, self.account):
                    add(record)
        finally:
            self._loading = False

    def _note(self, name: str, record: Any) -> None:
        if not self._loading:
            self.tables[name].note(record)
            self.file.schedule()

    def add_message(self, message: Message) -> None:
        super().add_message(message)
        self._note("messages", message)

    def save_message(self, message: Message) -> None:
        self._note("messages", message)

    def add_workflow(self, workflow: Workflow) -> None:
        super().add_workflow(workflow)
        self._note("workflows", workflow)

    def save_workflow(self, workflow: Workflow) -> None:
        self._note("workflows", workflow)

    def add_delivery(self, delivery: Delivery) -> None:
        super().add_delivery(delivery)
        self._note("deliveries", delivery)

    def save_delivery(self, delivery: Delivery) -> None:
        self._note("deliveries", delivery)

    def save_setting(self, key: str, value: Any) -> None:
        super().save_setting(key, value)
        if not self._loading:
            self.dirty_settings[key] = value
            self.file.schedule()

    def reset(self) -> None:
        super().reset()
        self.fresh = True
        for table in self.tables.values():
            table.clear()
        self.dirty_settings.pop("rules", None)
        self.file.schedule()

    def _forget(self, kind: str, key: str) -> None:
        self.tables[kind].forget(key)  # loading too: a lower history_limit prunes the file's oldest rows

    def changed(self) -> bool:
        return (self.fresh or bool(self.dirty_settings) or self.pruned != self._saved_pruned
                or any(t.dirty or t.gone for t in self.tables.values()))

    def write(self, db: sqlite3.Connection, next_seq: dict[str, int]) -> Callable[[], None]:
        """Write this account's changes inside the open transaction; returns what to apply once committed."""
        account, pruned = self.account, dict(self.pruned)
        applies = [table.write(db, account, getattr(self, name), self.fresh, next_seq)
                   for name, table in self.tables.items()]
        rows = [(account, key, orjson.dumps(value)) for key, value in self.dirty_settings.items()]
        if pruned != self._saved_pruned:
            rows.append((account, "pruned", orjson.dumps(pruned)))
        if self.fresh and "rules" not in self.dirty_settings:
            db.execute("DELETE FROM meta WHERE account = ? AND key = 'rules'", (account,))
        if rows:
            db.executemany("INSERT INTO meta (account, key, data) VALUES (?, ?, ?) "
                           "ON CONFLICT(account, key) DO UPDATE SET data = excluded.data", rows)

        def apply() -> None:
            for done in applies:
                done()
            self._saved_pruned = pruned
            self.dirty_settings.clear()
            self.fresh = False

        return apply


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
    except (ValueError, KeyError, TypeError) as exc:  # a schema-1 record the migration cannot read
        raise StateFileError(f"state file {path}: cannot be migrated: {type(exc).__name__}: {exc}") from exc
    return db


def _prepare(db: sqlite3.Connection, path: str) -> None:
    db.execute("PRAGMA locking_mode=EXCLUSIVE")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")  # a commit survives the process dying, not the machine
    db.execute("BEGIN EXCLUSIVE")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, 1, SCHEMA_VERSION):
        raise StateFileError(f"state file {path}: written by another version (schema {version})")
    if version == 1:
        _migrate_from_1(db)
    for table in TABLES:
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (seq INTEGER PRIMARY KEY, account TEXT NOT NULL, "
                   "body BLOB NOT NULL, data BLOB NOT NULL)")
    db.execute("CREATE TABLE IF NOT EXISTS meta (account TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL, "
               "PRIMARY KEY (account, key))")
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    db.execute("COMMIT")


def _migrate_from_1(db: sqlite3.Connection) -> None:
    """Schema 1 held one state: it becomes the default account's; workflow items keep their command, not the
    beta-shaped request."""
    for table in TABLES:
        db.execute(f"ALTER TABLE {table} ADD COLUMN account TEXT NOT NULL DEFAULT '{DEFAULT_ACCOUNT}'")
    db.execute("ALTER TABLE meta RENAME TO meta_1")
    db.execute("CREATE TABLE meta (account TEXT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL, "
               "PRIMARY KEY (account, key))")
    db.execute("INSERT INTO meta SELECT ?, key, data FROM meta_1", (DEFAULT_ACCOUNT,))
    db.execute("DROP TABLE meta_1")
    for seq, data in list(db.execute("SELECT seq, data FROM workflows")):
        workflow = orjson.loads(data)
        workflow["items"] = [_item_from_1(item, workflow["api"]) for item in workflow["items"]]
        db.execute("UPDATE workflows SET data = ? WHERE seq = ?", (orjson.dumps(workflow), seq))
    for seq, body, data in list(db.execute("SELECT seq, body, data FROM messages")):
        position = orjson.loads(body).get("workflow_item")  # /v1 failover items kept their place in the body
        if position:
            message = orjson.loads(data)
            message["item_number"], message["items_number"] = (int(position["item_number"]),
                                                               int(position["items_number"]))
            db.execute("UPDATE messages SET data = ? WHERE seq = ?", (orjson.dumps(message), seq))


def _item_from_1(item: dict[str, Any], generation: str) -> dict[str, Any]:
    request = {key: value for key, value in item.pop("request").items() if key not in ("failover", "workflow_item")}
    item.pop("channel")
    item["command"] = {"channel": request["to"]["type"], "generation": generation, **request}
    return item


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


class StateFile:
    """The SQLite file every account's FileStore writes to, in shared transactions."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db = _connect(path)
        self.closed = False
        self._stores: dict[str, FileStore] = {}
        self._next_seq = {name: self.db.execute(f"SELECT COALESCE(MAX(seq), 0) FROM {name}").fetchone()[0]
                          for name in TABLES}
        self._timer: asyncio.TimerHandle | None = None
        self._commit: asyncio.Future[None] | None = None

    # -- restoring ------------------------------------------------------------------------------
    def accounts(self) -> list[str]:
        """The accounts the file holds, sorted."""
        found = [row[0] for row in self.db.execute("SELECT account FROM meta UNION SELECT account FROM messages "
                                                   "UNION SELECT account FROM workflows")]
        return sorted(found)

    def store(self, account: str, now: Callable[[], float], history_limit: int) -> FileStore:
        """The account's store, filled with what the file holds for it."""
        store = self._stores[account] = FileStore(self, account, now, history_limit)
        if self.closed:  # an account first seen while shutting down: nothing to read, and its commit answers 503
            return store
        try:
            settings = {key: orjson.loads(data) for key, data in
                        self.db.execute("SELECT key, data FROM meta WHERE account = ?", (account,))}
        except ValueError as exc:
            raise StateFileError(f"state file {self.path}: the settings of account {account} cannot be read: "
                                 f"{exc}") from None
        try:
            with _gc_paused():
                store.load(self.db, settings)
        except StateFileError as exc:
            raise StateFileError(f"state file {self.path}: {exc}") from None
        return store

    def report_restored(self, backends: Mapping[str, Backend]) -> None:
        counts = [backend.store.counts() for backend in backends.values()]
        if not any(any(c.values()) for c in counts):
            log.info("state file %s: new or empty; the mock's state will be kept there", self.path)
            return
        for account, backend in backends.items():
            c = backend.store.counts()
            log.info("state file %s: account %s: restored %d messages, %d workflows, %d webhook deliveries "
                     "(%d pending); %d timers resume; clock at %s", self.path, account, c["messages"],
                     c["workflows"], c["deliveries"], backend.webhooks.pending_count(), backend.clock.pending,
                     backend.clock.now_iso())

    # -- writing --------------------------------------------------------------------------------
    def schedule(self) -> None:
        if self._timer is None and not self.closed:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # no loop yet (building a backend): the first commit writes it
            self._timer = loop.call_later(FLUSH_DELAY, self.flush)

    def _changed(self) -> bool:
        return any(store.changed() for store in self._stores.values())

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
        db, next_seq = self.db, dict(self._next_seq)
        db.execute("BEGIN")
        try:
            applies = [store.write(db, next_seq) for store in self._stores.values() if store.changed()]
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        for apply in applies:
            apply()
        self._next_seq = next_seq

    def close(self, backends: Mapping[str, Backend]) -> None:
        """The last flush; then the file is closed and says what will resume at the next start."""
        self.flush()
        self.closed = True
        self.db.close()
        for account, backend in backends.items():
            store, counts = backend.store, backend.store.counts()
            log.info("state file %s: account %s: kept %d messages (%d with statuses to come), %d workflows "
                     "(%d in progress), %d webhook deliveries (%d pending), clock at %s; they resume at the next "
                     "start", self.path, account, counts["messages"], len(store.planned_messages()),
                     counts["workflows"], len(store.unfinished_workflows()), counts["deliveries"],
                     len(store.pending_deliveries()), backend.clock.now_iso())
