"""The snapshot against its races: another message of the same person committed while the
reply was worked out, a handler that reads the person again, retries of answered messages.
A stale snapshot is never committed; a retry counts once (SQLite and PostgreSQL)."""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import insert, select

from bot import pipeline as pipeline_module
from core.texts import text
from models import Conversation, ProcessedMessage, Resident, utcnow
from tests.snapshot_helpers import incoming, reply_text, seq


def test_a_message_of_the_same_person_committed_meanwhile_sends_the_reply_the_locked_way(
        chat, pipeline, monkeypatch, fast_db):
    """取消 read no conversation; 我的信息 commits one before 取消 does: 取消 runs again,
    locked, and cancels it (a stale snapshot is never committed)."""
    alice = chat.registered("alice")
    cut_in = []

    def cut_in_once():
        if not cut_in:  # 取消's snapshot is read; 我的信息 commits before 取消's write begins
            cut_in.append("armed")
            cut_in.append(pipeline.handle(incoming(alice.openid, "我的信息")))
    if fast_db.get_bind().dialect.name == "postgresql":
        commit_in_one = pipeline_module.Pipeline._commit_in_one
        monkeypatch.setattr(pipeline_module.Pipeline, "_commit_in_one",
                            lambda self, *args: cut_in_once() or commit_in_one(self, *args))
    else:
        commit_in = pipeline_module.core_transaction

        @contextmanager
        def racing(sessions):
            cut_in_once()
            with commit_in(sessions) as connection:
                yield connection
        monkeypatch.setattr(pipeline_module, "core_transaction", racing)
    before = seq(chat, alice.openid)
    answer = reply_text(pipeline.handle(incoming(alice.openid, "取消")))
    assert "您的信息" in reply_text(cut_in[1]) and answer == text("cancelled")
    assert seq(chat, alice.openid) == before + 2
    fast_db.expire_all()
    assert fast_db.get(Conversation, chat.resident(alice.openid).id) is None


def test_a_handler_that_reads_the_person_again_does_not_make_a_stale_snapshot_fresh(
        chat, pipeline, monkeypatch, fast_db):
    """The sequence checked is the one read with the conversation. A handler that loads the
    person afresh (as a time-bank record does, under a row lock) sees 我的信息, committed
    meanwhile; 取消's snapshot is still stale, runs again locked, and cancels it."""
    if fast_db.get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite's snapshot is one read transaction: reading the row again reads the same")
    alice = chat.registered("alice")
    reply, cut_in = pipeline._reply, []

    def rereading(ctx, msg):
        if not cut_in:
            cut_in.append("armed")
            cut_in.append(pipeline.handle(incoming(alice.openid, "我的信息")))
            ctx.session.get(Resident, ctx.resident.id, populate_existing=True)
        return reply(ctx, msg)
    monkeypatch.setattr(pipeline, "_reply", rereading)
    assert reply_text(pipeline.handle(incoming(alice.openid, "取消"))) == text("cancelled")
    assert "您的信息" in reply_text(cut_in[1])
    fast_db.expire_all()
    assert fast_db.get(Conversation, chat.resident(alice.openid).id) is None


def test_a_retry_of_an_answered_message_gets_the_stored_reply_and_counts_once(chat, pipeline,
                                                                              fast_db):
    alice = chat.registered("alice")
    before = seq(chat, alice.openid)
    msg = incoming(alice.openid, "我的信息", msg_id=880999001)
    first = pipeline.handle(msg)
    again = pipeline.handle(msg)
    assert first == again and "您的信息" in reply_text(first)
    assert seq(chat, alice.openid) == before + 1
    claims = fast_db.scalars(select(ProcessedMessage).where(ProcessedMessage.key == msg.dedup_key))
    assert len(claims.all()) == 1


def test_a_claim_that_bumped_no_sequence_still_answers_with_its_stored_reply(chat, pipeline,
                                                                            fast_db):
    """A claim made before the person's row was (the row made afresh since): the snapshot's
    sequence check passes, its claim conflicts, and the stored reply is the answer; the
    conversation the handler moved is not written."""
    alice = chat.registered("alice")
    msg = incoming(alice.openid, "我的信息")
    fast_db.execute(insert(ProcessedMessage).values(key=msg.dedup_key, openid=alice.openid,
                                                    created_at=utcnow(), reply="<xml>stored</xml>"))
    assert pipeline.handle(msg) == "<xml>stored</xml>"
    fast_db.expire_all()
    assert fast_db.get(Conversation, chat.resident(alice.openid).id) is None
