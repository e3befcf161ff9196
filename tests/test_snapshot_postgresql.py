"""PostgreSQL: a known person's message is read outside any transaction block and committed in
one statement, so a menu word costs two round trips, not four; counted from libpq's own trace
of the bot's connections while the simulator delivers the message over HTTP."""
from __future__ import annotations

import tempfile
from contextlib import contextmanager

import pytest
from psycopg import pq
from sqlalchemy import event

from core.texts import text
from models import Conversation


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
def pipeline(bot_server, engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's snapshot commits in a short write transaction (test_snapshot)")
    return bot_server.server.app.extensions["linli.pipeline"]


def round_trips(messages: list[str]) -> int:
    return sum(m.startswith("ReadyForQuery") for m in messages)


def test_a_menu_word_is_two_round_trips_and_no_transaction_block(registered, pipeline, resident):
    alice = registered("alice")
    before = resident(alice.openid).message_seq
    with traced(pipeline) as messages:
        assert "请回复数字选择" in alice.say("菜单")
    assert round_trips(messages) == 2
    assert not any(m.startswith("Query") and ("BEGIN" in m or "COMMIT" in m) for m in messages)
    assert resident(alice.openid).message_seq == before + 1


def test_a_step_moved_from_the_snapshot_is_committed_with_the_claim(registered, pipeline, resident,
                                                                     db):
    alice = registered("alice")
    with traced(pipeline) as messages:
        assert "您的信息" in alice.say("我的信息")
    assert round_trips(messages) == 2
    db.rollback()
    assert db.get(Conversation, resident(alice.openid).id).flow == "profile"
    with traced(pipeline) as messages:
        assert alice.say("取消") == text("cancelled")
    assert round_trips(messages) == 2
    db.rollback()
    assert db.get(Conversation, resident(alice.openid).id) is None
