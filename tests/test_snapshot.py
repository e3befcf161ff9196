"""A known person's message is answered from a read snapshot, then committed in one short
write (SQLite: a transaction of three statements; PostgreSQL: one statement outside any
transaction block); anything else a handler writes, or a race with their own next message,
takes the locked way. The replies are the same either way (the rest of the suite runs on both)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.state import _DELETE
from core.db import (
    WATCH,
    WriteRefused,
    execute_fast,
    insert_ignore_core,
    read,
    retryable,
    upsert_statement,
    write_guard,
)
from core.texts import text
from models import Conversation, ProcessedMessage, Resident, utcnow
from tests.snapshot_helpers import seq


@pytest.fixture
def statements(app):
    """(read from the snapshot?, statement) for everything SQLite ran during the test, as
    its own trace reports it (some statements go straight to the driver, past SQLAlchemy)."""
    seen: list[tuple[bool, str]] = []
    connection = app.extensions["linli.test_sessions"].kw["bind"]
    if connection.dialect.name != "sqlite":
        pytest.skip("SQLite's statement trace (PostgreSQL's round trips: test_snapshot_postgresql)")
    driver = connection.connection.driver_connection

    def record(statement):
        guard = connection.info.get(WATCH)
        seen.append((guard is not None and guard.refuse, " ".join(statement.split())))
    driver.set_trace_callback(record)
    yield seen
    driver.set_trace_callback(None)


def test_a_menu_word_is_read_from_the_snapshot_and_written_in_one_short_write(chat, pipeline,
                                                                              statements):
    alice = chat.registered("alice")
    before = seq(chat, alice.openid)
    statements.clear()
    assert "请回复数字选择" in alice.say("菜单")
    reads = [s for snapshot, s in statements if snapshot]
    writes = [s for snapshot, s in statements if not snapshot and not s.startswith(
        ("SAVEPOINT", "RELEASE", "ROLLBACK"))]
    assert any(s.startswith("SELECT") and "FROM residents" in s for s in reads)
    assert not any(s.startswith(("INSERT", "UPDATE", "DELETE")) for s in reads)
    # under the write lock: the claim with its reply and the person's sequence, nothing read
    assert [s.split()[0:3] for s in writes] == [["INSERT", "INTO", "processed_messages"],
                                                ["UPDATE", "residents", "SET"]]
    assert seq(chat, alice.openid) == before + 1


def test_a_conversation_step_is_carried_from_the_snapshot_to_the_commit(chat, pipeline, fast_db):
    alice = chat.registered("alice")
    rid = chat.resident(alice.openid).id
    alice.say("我的信息")
    fast_db.expire_all()
    row = fast_db.get(Conversation, rid)
    assert row is not None and row.flow == "profile"
    assert alice.say("取消") == text("cancelled")
    fast_db.expire_all()
    assert fast_db.get(Conversation, rid) is None


def test_a_handler_that_writes_takes_the_locked_way_and_writes_once(chat, pipeline, statements):
    alice = chat.registered("alice")
    before = chat.resident(alice.openid)
    misunderstood, count = before.misunderstood, before.message_seq
    statements.clear()
    alice.say("zzzz")
    after = chat.resident(alice.openid)
    assert after.misunderstood == misunderstood + 1
    assert after.message_seq == count + 1
    # the locked way read the person afresh, under the lock
    assert any(not snapshot and s.startswith("SELECT") and "FROM residents" in s
               for snapshot, s in statements)


def test_a_step_that_wrote_goes_the_locked_way_at_once_until_it_writes_nothing(chat, pipeline,
                                                                              monkeypatch):
    """A name typed in the profile is a write: the first one is refused in the snapshot and
    run again locked (the handler runs twice); the next name typed there is run locked at
    once (once). 取消 there writes nothing, so the snapshot is tried again after it."""
    alice = chat.registered("alice")
    runs, reply = [], pipeline._reply
    monkeypatch.setattr(pipeline, "_reply", lambda ctx, msg: runs.append(msg.text) or reply(ctx, msg))

    def handler_runs(words: str) -> int:
        runs.clear()
        alice.say(words)
        return len(runs)

    alice.say("我的信息")
    alice.say("2")
    assert handler_runs("阿丽") == 2
    alice.say("2")
    assert handler_runs("丽姐") == 1 and chat.resident(alice.openid).name == "丽姐"
    alice.say("2")
    assert alice.say("取消") == text("cancelled")
    alice.say("我的信息")
    alice.say("2")
    assert handler_runs("阿丽") == 2 and chat.resident(alice.openid).name == "阿丽"
    assert handler_runs("菜单") == 1  # a reader outside a conversation: the snapshot, once


def test_a_refused_write_a_handler_turns_into_another_error_still_gets_the_real_reply(
        chat, pipeline, monkeypatch):
    """The resident never sees the busy text because the snapshot could not write."""
    alice = chat.registered("alice")
    reply = pipeline._reply

    def clumsy(ctx, msg):
        connection = ctx.session.connection()
        if getattr(connection.info.get(WATCH), "refuse", False):
            try:
                connection.execute(insert(ProcessedMessage).values(key="k-clumsy", reply=""))
            except WriteRefused as refused:
                raise RuntimeError("a handler's own wrapping") from refused
        return reply(ctx, msg)
    monkeypatch.setattr(pipeline, "_reply", clumsy)
    assert "请回复数字选择" in alice.say("菜单")


def test_a_refused_write_leaves_nothing_and_is_remembered_even_if_swallowed(fast_db):
    connection = fast_db.connection()
    with write_guard(connection, refuse=True) as guard:
        assert fast_db.scalar(select(Resident.id).limit(1)) is not None
        try:
            connection.execute(insert(ProcessedMessage).values(key="k-refused", reply=""))
        except WriteRefused:
            pass
    assert guard.wrote
    assert fast_db.get(ProcessedMessage, "k-refused") is None
    connection.execute(insert(ProcessedMessage).values(key="k-allowed", reply="",
                                                       created_at=utcnow()))
    assert fast_db.get(ProcessedMessage, "k-allowed") is not None


def test_a_write_sent_straight_to_the_driver_is_refused_in_a_snapshot_too(chat, fast_db):
    rid = chat.resident(chat.registered("alice").openid).id
    connection = fast_db.connection()
    with write_guard(connection, refuse=True) as guard:
        with pytest.raises(WriteRefused):
            execute_fast(connection, _DELETE, {"rid": rid})
        assert execute_fast(connection, select(Resident.id).where(Resident.id == rid)) == [(rid,)]
    assert guard.wrote


def test_the_driver_way_stores_values_as_sqlalchemy_reads_them(chat, fast_db):
    """Dates and JSON pass SQLAlchemy's own type conversion, so the ORM reads back what
    was written; a statement whose column defaults SQLAlchemy computes takes its way."""
    rid = chat.resident(chat.registered("alice").openid).id
    when = datetime(2026, 12, 2, 9, 30, 15, 123456, tzinfo=timezone.utc)
    data = {"地址": "3栋2单元", "photos": ["m1", "m2"], "n": 2, "nested": {"ok": True}}
    values = {"resident_id": rid, "flow": "report", "step": "photo", "data": data, "updated_at": when}
    connection = fast_db.connection()
    execute_fast(connection, upsert_statement(connection, Conversation.__table__, values, ["resident_id"]),
                 values)
    fast_db.expire_all()
    row = fast_db.get(Conversation, rid)
    assert (row.flow, row.step, row.data, row.updated_at) == ("report", "photo", data, when)
    # residents.misunderstood has a Python default: inserted all the same
    assert insert_ignore_core(fast_db.connection(), Resident.__table__, {
        "openid": "o-defaults", "followed": True, "created_at": when}, ["openid"])
    assert chat.resident("o-defaults").misunderstood == 0


def test_a_hot_read_converts_its_own_values_and_sees_what_the_session_holds(fast_db):
    """`read` (a handler's read past the ORM) converts the values written in the statement
    itself, as SQLAlchemy would, and sees the session's unflushed objects (autoflush)."""
    when = datetime(2026, 12, 3, 8, 0, 0, 250000, tzinfo=timezone.utc)
    fast_db.add(ProcessedMessage(key="k-read", openid="o-read", reply="", created_at=when))
    since = datetime(2026, 12, 1, tzinfo=timezone.utc)
    statement = select(ProcessedMessage.key, ProcessedMessage.created_at).where(
        ProcessedMessage.openid == "o-read", ProcessedMessage.created_at > since)
    assert read(fast_db, statement) == [("k-read", when)]


def test_the_person_built_from_the_load_row_is_the_one_the_orm_loads(app, chat, fast_db):
    """The pipeline builds the person and their community from its one row, past the ORM's
    loading: every column must come back as the ORM reads it (aware times, floats, JSON),
    the objects must sit in the session clean, and a change to them must be written."""
    from sqlalchemy import inspect as inspect_

    from bot.pipeline import LOAD_BY_SENDER, _person
    from models import Community

    openid = chat.registered("alice", mobile="13800138000", name="陈小玲").openid
    me = chat.resident(openid)
    me.last_lat, me.last_lng, me.last_location_at, me.handoff_id = 23.0312, 113.1205, utcnow(), 7
    data = {"描述": "楼道灯坏了", "photos": ["m1"]}
    fast_db.add(Conversation(resident_id=me.id, flow="report", step="photo", data=data,
                             updated_at=utcnow()))
    fast_db.flush()
    fast_db.expire_all()
    want = fast_db.get(Resident, me.id)
    columns = [c.key for c in inspect_(Resident).column_attrs]
    expected = {k: getattr(want, k) for k in columns}
    built = app.extensions["linli.test_sessions"]()
    try:
        rows = execute_fast(built.connection(), LOAD_BY_SENDER, {"sender": openid})
        person, step = _person(built, rows[0])
        assert {k: getattr(person, k) for k in columns} == expected
        assert person.registered_at.tzinfo is not None and person.name == "陈小玲"
        assert (step.flow, step.step, step.data) == ("report", "photo", data)
        assert built.get(Community, person.community_id) is person.community
        assert person.community.name == want.community.name
        assert inspect_(person).persistent and not built.dirty and not built.new
        assert person.roles == []  # no role: known from the row, not queried
        person.name = "陈小玲二"
        built.commit()
    finally:
        built.close()
    fast_db.expire_all()
    assert fast_db.get(Resident, me.id).name == "陈小玲二"


def test_a_driver_error_on_the_driver_way_is_raised_as_sqlalchemy_raises_it(chat, fast_db):
    """Callers catch SQLAlchemy's exceptions (and `retryable` reads them) whichever way a
    statement went; the message names no value (an openid is personal)."""
    connection = fast_db.connection()
    values = {"resident_id": 999999, "flow": "profile", "step": "mobile",  # no such resident
              "data": {"mobile": "13800138000"}, "updated_at": utcnow()}
    with pytest.raises(IntegrityError) as raised, connection.begin_nested():
        execute_fast(connection, upsert_statement(connection, Conversation.__table__, values,
                                                  ["resident_id"]), values)
    assert "13800138000" not in str(raised.value)
    assert not retryable(raised.value)
    # the ordinary way names no value either
    with pytest.raises(IntegrityError) as raised, connection.begin_nested():
        connection.execute(insert(Conversation).values(values))
    assert "13800138000" not in str(raised.value)


def test_a_connection_the_database_dropped_is_invalidated_and_the_work_retryable(engine):
    """The webhook's pool does not ping: a statement on the driver way that finds its
    connection gone must say so as SQLAlchemy would, or the message is not run again."""
    if engine.dialect.name != "postgresql":
        pytest.skip("an embedded SQLite file has no server to drop connections")
    with engine.connect() as connection:
        backend = connection.execute(select(func.pg_backend_pid())).scalar()
        with engine.connect() as other:
            other.execute(select(func.pg_terminate_backend(backend)))
        with pytest.raises(DBAPIError) as raised:
            execute_fast(connection, _DELETE, {"rid": 0})
        assert raised.value.connection_invalidated and retryable(raised.value)
        assert connection.invalidated
    with engine.connect() as fresh:
        assert fresh.execute(select(func.pg_backend_pid())).scalar() != backend


def test_a_first_look_at_my_hours_creates_no_account_and_needs_no_lock(chat, pipeline, statements,
                                                                       fast_db):
    from models import Account

    alice = chat.registered("alice")
    statements.clear()
    assert "余额0小时" in alice.say("我的时间")
    assert not any(not snapshot and s.startswith("SELECT") for snapshot, s in statements)
    rid = chat.resident(alice.openid).id
    assert fast_db.scalar(select(Account.id).where(Account.owner_id == rid)) is None
