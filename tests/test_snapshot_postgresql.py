"""PostgreSQL: a known person's message is read outside any transaction block and committed in
one statement, so a menu word costs two round trips, not four; counted from libpq's own trace
of the bot's connections while the simulator delivers the message over HTTP."""
from __future__ import annotations

import tempfile
from contextlib import contextmanager

import pytest
from psycopg import pq
from sqlalchemy import event, func, select

from bot.statements import SNAPSHOT_COMMIT
from core.db import execute_fast
from core.texts import text
from models import Conversation, ProcessedMessage, utcnow


@contextmanager
def traced(pipeline):
    """Everything the webhook's connections send and receive while the block runs."""
    log = tempfile.TemporaryFile()
    engines = {pipeline.sessions.kw["bind"], pipeline.snapshot_sessions.kw["bind"]}

    def start(dbapi_connection, _record, _proxy):
        dbapi_connection.pgconn.trace(log.fileno())
        dbapi_connection.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def stop(dbapi_connection, _record):
        dbapi_connection.pgconn.untrace()
    for engine in engines:
        event.listen(engine, "checkout", start)
        event.listen(engine, "checkin", stop)
    messages: list[str] = []
    try:
        yield messages
    finally:
        for engine in engines:
            event.remove(engine, "checkout", start)
            event.remove(engine, "checkin", stop)
        log.seek(0)
        # libpq's lines: direction, length, message type, its fields
        messages.extend(" ".join(line.split("\t")[2:]) for line in log.read().decode().splitlines())


@pytest.fixture
def live_pipeline(bot_server, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's snapshot commits in a short write transaction (test_snapshot)")
    return bot_server.server.app.extensions["linli.pipeline"]


def round_trips(messages: list[str]) -> int:
    """Statements sent and answered: each extended-protocol Execute, or a simple Query
    (BEGIN, COMMIT). psycopg's one-time preparing of a statement it has run five times on
    that connection is a round trip of its own, without an Execute, and not counted."""
    return sum(m.startswith(("Execute", "Query")) for m in messages)


def test_a_menu_word_is_two_round_trips_and_no_transaction_block(registered, live_pipeline, resident):
    alice = registered("alice")
    before = resident(alice.openid).message_seq
    with traced(live_pipeline) as messages:
        assert "请回复数字选择" in alice.say("菜单")
    assert round_trips(messages) == 2
    assert not any(m.startswith("Query") and ("BEGIN" in m or "COMMIT" in m) for m in messages)
    assert resident(alice.openid).message_seq == before + 1


def test_a_step_moved_from_the_snapshot_is_committed_with_the_claim(registered, live_pipeline, resident,
                                                                     db):
    alice = registered("alice")
    with traced(live_pipeline) as messages:
        assert "您的信息" in alice.say("我的信息")
    assert round_trips(messages) == 2
    db.rollback()
    assert db.get(Conversation, resident(alice.openid).id).flow == "profile"
    with traced(live_pipeline) as messages:
        assert alice.say("取消") == text("cancelled")
    assert round_trips(messages) == 2
    db.rollback()
    assert db.get(Conversation, resident(alice.openid).id) is None


def test_a_retry_of_an_answered_message_changes_nothing_and_gets_the_stored_reply(
        registered, live_pipeline, resident, db):
    """Read outside a transaction block, a retry finds the sequence it read unchanged; the
    commit statement still writes nothing for a message that already has its claim."""
    alice = registered("alice")

    def claims() -> int:
        db.rollback()
        return db.scalar(select(func.count()).select_from(ProcessedMessage)
                         .where(ProcessedMessage.openid == alice.openid))
    first = alice.say("我的信息", msg_id=778001)
    seq, claimed = resident(alice.openid).message_seq, claims()
    with traced(live_pipeline) as messages:
        assert alice.say("我的信息", msg_id=778001) == first
    assert resident(alice.openid).message_seq == seq and claims() == claimed
    assert any(m.startswith("Query") and "BEGIN" in m for m in messages)  # then the locked way


def test_the_commit_statement_writes_all_or_nothing(registered, live_pipeline, resident, engine, db):
    """Straight on an autocommit connection: a stale sequence writes nothing at all."""
    alice = registered("alice")
    person = resident(alice.openid)
    rid, seq = person.id, person.message_seq
    step = {"resident_id": rid, "flow": "profile", "step": "menu", "data": {},
            "updated_at": utcnow()}
    claim = {"key": "k-all-or-nothing", "openid": alice.openid, "created_at": utcnow(), "reply": "r"}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        stale = {"rid": rid, "seen": seq - 1, "stamp": utcnow()}
        assert execute_fast(conn, SNAPSHOT_COMMIT["save"], {**stale, **claim, **step}) == [(False, False)]
        db.rollback()
        assert db.get(ProcessedMessage, claim["key"]) is None and db.get(Conversation, rid) is None
        assert resident(alice.openid).message_seq == seq
        fresh = {**stale, "seen": seq}
        assert execute_fast(conn, SNAPSHOT_COMMIT["save"], {**fresh, **claim, **step}) == [(True, True)]
    db.rollback()
    assert db.get(ProcessedMessage, claim["key"]).reply == "r"
    assert db.get(Conversation, rid).flow == "profile"
    assert resident(alice.openid).message_seq == seq + 1
