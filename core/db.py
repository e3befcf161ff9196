"""Engine and session factory for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every transaction starts with
`BEGIN IMMEDIATE`: writers queue for the single write lock up front instead of
failing half-way, which is what serialises two webhook workers handling the
same resident. They queue on an operating-system file lock first (`WriteLock`):
SQLite's own busy handler polls with sleeps of 1, 2, 5, 10 … ms, so a waiting
worker would idle long after the lock was free; a blocked `flock` wakes at once.
PostgreSQL gets the same guarantees from row locks; when two transactions still
deadlock (or fail serialization), `run_in_transaction` runs the whole unit again
instead of losing it.
"""
from __future__ import annotations

import fcntl
import logging
import os
import random
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sqlalchemy import Connection, Engine, Executable, Table, bindparam, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15000
# PostgreSQL SQLSTATEs worth a fresh attempt: serialization failure, deadlock.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
ATTEMPTS = 4
# Row locks taken to serialise writers: FOR NO KEY UPDATE on PostgreSQL, which does not
# block another transaction's foreign-key check (FOR KEY SHARE) on the same row. A plain
# FOR UPDATE would: a transfer to B waits for B's row while B's own message waits for ours.
ROW_LOCK = {"key_share": True}
HOLDS_LOCK = "holds_write_lock"  # connection info: this connection holds the `WriteLock`
WATCH = "write_guard"  # connection info: the `WriteGuard` watching (or refusing) writes
# What a read snapshot may send: reads, and the transaction and savepoint statements
# that wrap them (a use case's savepoint is taken before it knows whether it writes).
_READS = ("SELECT", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK")
log = logging.getLogger(__name__)
T = TypeVar("T")


def make_engine(url: str, sqlite_begin: str = "IMMEDIATE", **kwargs) -> Engine:
    """Create an engine with the project's per-dialect settings.

    `sqlite_begin="DEFERRED"` suits read-mostly tools (reports, test assertions)
    that must not hold SQLite's write lock while they look.
    Error messages name no bound value: they reach the logs, and values are personal.
    """
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                  "check_same_thread": False}, **kwargs)
        database = engine.url.database
        queue = sqlite_begin == "IMMEDIATE" and database and database != ":memory:"
        _configure_sqlite(engine, sqlite_begin, WriteLock.for_database(database) if queue else None)
    else:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
    event.listen(engine, "before_cursor_execute", _refuse_writes)
    return engine


class WriteRefused(Exception):
    """A statement that writes, sent while the connection only reads (`write_guard`)."""


class WriteGuard:
    def __init__(self, refuse: bool):
        self.refuse, self.wrote = refuse, False


@contextmanager
def write_guard(connection, *, refuse: bool) -> Iterator[WriteGuard]:
    """While the block runs, the guard notes whether any statement wrote; with `refuse`,
    such a statement raises `WriteRefused`, and the guard remembers it even if a handler
    swallowed the exception."""
    info = connection.info  # held: a connection the database dropped cannot be asked again
    guard = info[WATCH] = WriteGuard(refuse)
    try:
        yield guard
    finally:
        info.pop(WATCH, None)


def read_only(session: Session) -> bool:
    """Whether the session's statements run under a `write_guard` that refuses writes."""
    guard = session.connection().info.get(WATCH)
    return guard is not None and guard.refuse


def _refuse_writes(conn, _cursor, statement, _parameters, _context, _executemany):
    guard = conn.info.get(WATCH)
    if guard is not None and not statement.lstrip()[:9].upper().startswith(_READS):
        guard.wrote = True
        if guard.refuse:
            raise WriteRefused(statement.split(None, 1)[0])


def _configure_sqlite(engine: Engine, begin: str, lock: "WriteLock | None") -> None:

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin (savepoints too).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if lock is not None and not conn.info.get(HOLDS_LOCK):
            lock.acquire()
            conn.info[HOLDS_LOCK] = True
        # straight to the driver: SQLAlchemy's execution machinery costs more than BEGIN
        conn.connection.driver_connection.execute(f"BEGIN {begin}")

    if lock is not None:
        @event.listens_for(engine, "checkin")
        def _after_end(_dbapi_connection, record):
            # Back in the pool: the commit or rollback has finished.
            if record is not None and record.info.pop(HOLDS_LOCK, False):
                lock.release()


class WriteLock:
    """One writer at a time per SQLite file, across threads and processes, woken at once."""

    _locks: dict[str, "WriteLock"] = {}
    _guard = threading.Lock()

    def __init__(self, path: str):
        self.path, self._thread_lock, self._fd, self._pid = path, threading.Lock(), None, None

    @classmethod
    def for_database(cls, database: str) -> "WriteLock":
        path = str(Path(database).resolve()) + ".writelock"
        with cls._guard:
            return cls._locks.setdefault(path, cls(path))

    def acquire(self) -> None:
        self._thread_lock.acquire()
        if self._pid != os.getpid():  # a forked worker needs its own open file
            self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


def make_session_factory(engine: Engine, **kwargs) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, **kwargs)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error, always close."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def retryable(exc: BaseException) -> bool:
    """A deadlock, a serialization failure or a connection the database dropped (a restart):
    the same work may succeed when run again."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in RETRYABLE_SQLSTATES


def run_in_transaction(factory: sessionmaker[Session], work: Callable[[Session], T],
                       attempts: int = ATTEMPTS) -> T:
    """`work(session)` in one transaction, run again (fresh) after a deadlock, a
    serialization failure or a lost connection, up to `attempts` times in all. A connection
    lost during COMMIT leaves it unknown whether the work was committed: `work` must be
    safe to run twice (the webhook's claim makes it so)."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction(factory) as session:
                return work(session)
        except DBAPIError as exc:
            if attempt == attempts or not retryable(exc):
                raise
            log.info("transaction retried after %s (attempt %d)", type(exc.orig).__name__, attempt)
            time.sleep(random.uniform(0.005, 0.03) * attempt)
    raise AssertionError("unreachable")


@contextmanager
def core_transaction(factory: sessionmaker[Session]) -> Iterator[Connection]:
    """A connection in one transaction on the factory's database, without an ORM session:
    for a few Core statements on the hot path (a test tier bound to one connection gets a
    savepoint on it)."""
    bind = factory.kw["bind"]
    if isinstance(bind, Connection):
        with bind.begin_nested():
            yield bind
    else:
        with bind.begin() as connection:
            yield connection


_ON_CONFLICT: dict[tuple, object] = {}


def insert_ignore(session: Session, table: Table, values: dict, conflict: list[str],
                  where: str | None = None) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted.

    RETURNING tells, where rowcount does not (psycopg reports -1 here). `where`
    names the predicate of a partial unique index on `conflict`.
    """
    session.flush()  # rows the ORM holds go first (foreign keys); a no-op when clean
    return insert_ignore_core(session.connection(), table, values, conflict, where)


def insert_ignore_core(connection: Connection, table: Table, values: dict, conflict: list[str],
                       where: str | None = None) -> bool:
    """`insert_ignore` on a Core connection."""
    stmt = _statement(connection, "ignore", table, values, conflict, where)
    return bool(execute_fast(connection, stmt, values))


def upsert_statement(connection: Connection, table: Table, values: dict, conflict: list[str]):
    """INSERT … ON CONFLICT (conflict) DO UPDATE the other columns given (built once per
    shape, for `execute_fast`)."""
    return _statement(connection, "update", table, values, conflict, None)


_COMPILED: dict[tuple[int, str], tuple] = {}


def execute_fast(connection: Connection, statement: Executable, params: dict | None = None) -> list[tuple]:
    """Run a Core statement and return its rows as tuples. It is compiled once per dialect
    and sent straight to the DB-API cursor, through SQLAlchemy's own type conversion both
    ways (values bound, columns read): the webhook's few statements per message skip
    SQLAlchemy's per-execution work (about 0.1 ms each, as much as the rest of a commit;
    an ORM load costs more, see `core.rows`). The write guard still applies; other
    cursor events do not fire. Meant for statements built once (module constants, the
    ON CONFLICT builder's cache): each one is kept with its compiled form."""
    dialect = connection.dialect
    key = (id(statement), dialect.name)
    compiled = _COMPILED.get(key)
    if compiled is None:
        done = statement.compile(dialect=dialect)
        # keyed by the names the parameters are sent under (anonymous ones are resolved)
        processors = {name: bind.type.dialect_impl(dialect).bind_processor(dialect)
                      for bind, name in done.bind_names.items()}
        processors = {name: p for name, p in processors.items() if p is not None}
        # Column defaults computed in Python and IN lists are filled in by SQLAlchemy's
        # execution: such a statement takes the ordinary way. The entry keeps `statement`
        # alive, so its id is never reused for another.
        plain = not (done.insert_prefetch or done.update_prefetch
                     or any(bind.expanding for bind in done.binds.values()))
        # Whether rows come back is known from the statement: psycopg builds `description`
        # afresh (a Column object per column) at every look.
        returns_rows = len(getattr(statement, "exported_columns", ())) > 0
        compiled = _COMPILED[key] = [done, processors, plain, returns_rows, None, statement]
    done, processors, plain, returns_rows, results = compiled[:5]
    if not plain:
        result = connection.execute(statement, params)
        return list(result) if result.returns_rows else []
    _refuse_writes(connection, None, done.string, None, None, False)
    values = done.construct_params(params)
    for name, process in processors.items():
        values[name] = process(values[name])
    order = done.positiontup  # qmark (SQLite) is positional; psycopg takes the names
    cursor = connection.connection.cursor()
    try:
        cursor.execute(done.string, [values[name] for name in order] if order else values)
        if not returns_rows:
            return []
        rows = cursor.fetchall()
        if results is None:  # the columns' type conversions, worked out on the first run
            results = compiled[4] = _result_processors(dialect, statement, cursor.description)
    except dialect.loaded_dbapi.Error as exc:
        # SQLAlchemy's own handling, as its execute does: the exception it would raise
        # (IntegrityError …, values hidden), and a dropped connection invalidated with the
        # rest of the pool, so the retry gets a live one.
        connection._handle_dbapi_exception(exc, done.string, values, cursor, None)
    finally:
        cursor.close()
    if not results:
        return rows
    return [tuple(process(value) if process else value for process, value in zip(results, row))
            for row in rows]


def read(session: Session, statement: Executable, params: dict | None = None) -> list[tuple]:
    """`execute_fast` in the session's transaction, after its pending changes (as autoflush
    does): a handler's hot reads of a few columns, without the ORM's per-query work."""
    if session.autoflush:
        session.flush()  # a no-op when nothing is pending
    return execute_fast(session.connection(), statement, params)


def _result_processors(dialect, statement: Executable, description) -> list:
    """Per column, the conversion of its type (None: none), as SQLAlchemy applies it; an
    empty list when no column needs one."""
    columns = list(statement.exported_columns)
    found = [column.type.dialect_impl(dialect).result_processor(dialect, entry[1])
             for column, entry in zip(columns, description)]
    return found if any(found) else []


def _statement(connection: Connection, action: str, table: Table, values: dict,
               conflict: list[str], where: str | None):
    """The dialect's INSERT … ON CONFLICT, built once per shape (the webhook's hot path
    reuses it)."""
    name = connection.dialect.name
    shape = (name, action, table.name, tuple(values), tuple(conflict), where)
    stmt = _ON_CONFLICT.get(shape)
    if stmt is None:
        dialect = postgresql if name == "postgresql" else sqlite
        insert = dialect.insert(table).values({k: bindparam(k) for k in values})
        if action == "update":
            stmt = insert.on_conflict_do_update(
                index_elements=conflict,
                set_={k: insert.excluded[k] for k in values if k not in conflict})
        else:
            stmt = (insert.on_conflict_do_nothing(index_elements=conflict,
                                                  index_where=text(where) if where else None)
                    .returning(table.c[conflict[0]]))
        _ON_CONFLICT[shape] = stmt
    return stmt
