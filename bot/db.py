"""Engine and session factory for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every transaction starts with
`BEGIN IMMEDIATE`: writers queue for the single write lock up front instead of
failing half-way, which is what serialises two webhook workers handling the
same resident. PostgreSQL gets the same guarantees from row locks.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Engine, Table, bindparam, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15000


def make_engine(url: str, sqlite_begin: str = "IMMEDIATE", **kwargs) -> Engine:
    """Create an engine with the project's per-dialect settings.

    `sqlite_begin="DEFERRED"` suits read-mostly tools (reports, test assertions)
    that must not hold SQLite's write lock while they look.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                                  "check_same_thread": False}, **kwargs)
        _configure_sqlite(engine, sqlite_begin)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine, begin: str) -> None:

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql(f"BEGIN {begin}")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


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


_INSERT_IGNORE: dict[tuple, object] = {}


def insert_ignore(session: Session, table: Table, values: dict, conflict: list[str],
                  where: str | None = None) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row was inserted.

    RETURNING tells, where rowcount does not (psycopg reports -1 here). The
    statement is built once per shape, so the webhook's hot path reuses it. `where`
    names the predicate of a partial unique index on `conflict`.
    """
    name = session.get_bind().dialect.name
    shape = (name, table.name, tuple(values), tuple(conflict), where)
    stmt = _INSERT_IGNORE.get(shape)
    if stmt is None:
        dialect = postgresql if name == "postgresql" else sqlite
        stmt = (dialect.insert(table).values({k: bindparam(k) for k in values})
                .on_conflict_do_nothing(index_elements=conflict,
                                        index_where=text(where) if where else None)
                .returning(table.c[conflict[0]]))
        _INSERT_IGNORE[shape] = stmt
    return session.execute(stmt, values).first() is not None
