"""Exactly once: WeChat retries, concurrent duplicates, several workers."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from core.texts import text as text_of
from models import Conversation


def _fire(persona, copies: int, **payload) -> list[dict]:
    """Send the same message (same MsgId / CreateTime) `copies` times at once."""
    with ThreadPoolExecutor(copies) as pool:
        futures = [pool.submit(persona.sim.call, "POST", f"/personas/{persona.openid}/send",
                               json=payload) for _ in range(copies)]
        return [f.result() for f in futures]


def test_retry_of_processed_message_gets_the_same_reply(sim, resident, db):
    p = sim.persona()
    p.follow()
    first = p.say("1", msg_id=777001)
    again = p.say("1", msg_id=777001)
    assert first == again and "【金宁社区】" in first
    # the handler ran once: the step moved only one place (a second run would
    # have taken "1" as consent and moved on to the name)
    db.rollback()
    conv = db.get(Conversation, resident(p.openid).id)
    assert conv.step == "consent"


def test_the_same_msgid_from_two_people_is_two_messages(sim, resident):
    """MsgIds are unique per sender, not across the account: each person gets their own reply."""
    alice, bob = sim.persona("alice"), sim.persona("bob")
    alice.follow(scene="jinning")
    bob.follow(scene="hegang")
    for person in (alice, bob):
        person.say("1")
        person.say("跳过")
    alice.say("3栋2单元")
    bob.say("河岗村东片")
    to_alice = alice.say("13812345678", msg_id=424242)
    to_bob = bob.say("跳过", msg_id=424242)
    assert "138****5678" in to_alice and "金宁社区" in to_alice
    assert "138****5678" not in to_bob and "河岗社区" in to_bob and "登记完成" in to_bob
    assert resident(bob.openid).registered_at is not None


def test_event_retry_is_deduplicated_by_sender_and_time(sim, resident):
    p = sim.persona()
    at = int(time.time())
    first = p.send(type="subscribe", scene="jinning", create_time=at)
    assert "【金宁社区】" in first
    p.say("1")
    # WeChat retries the same follow event: the same welcome, no restart of registration
    assert p.send(type="subscribe", scene="jinning", create_time=at) == first
    assert "楼栋" in p.say("跳过")


@pytest.mark.parametrize("server", ["threads", "gunicorn"])
@pytest.mark.xdist_group("gunicorn")
def test_concurrent_duplicates_run_the_handler_once(request, sim, write_lock, resident, db,
                                                    server):
    if server == "gunicorn":
        request.getfixturevalue("via_gunicorn")
    p = sim.persona()
    p.follow()
    payload = {"type": "text", "content": "1", "msg_id": 990001}
    with ThreadPoolExecutor(1) as pool:
        with write_lock(p.openid, seconds=1.0):
            outcomes = pool.submit(_fire, p, 4, **payload).result()
    replies = {o["reply"] for o in outcomes}
    assert len(replies) == 1 and "【金宁社区】" in replies.pop()
    db.rollback()
    assert db.get(Conversation, resident(p.openid).id).step == "consent"


def test_simulator_retries_a_slow_answer_and_handler_runs_once(sim, write_lock, resident, db):
    sim.settings(reply_timeout=0.7)
    p = sim.persona()
    p.follow()
    with ThreadPoolExecutor(1) as pool:
        with write_lock(p.openid, seconds=1.6):
            future = pool.submit(p.say, "1", msg_id=990002)
        future.result()
        outcome = p.last_outcome
    assert outcome["attempts"] >= 2  # the first attempt timed out, a retry got the answer
    assert "【金宁社区】" in outcome["reply"]
    db.rollback()
    assert db.get(Conversation, resident(p.openid).id).step == "consent"


@pytest.mark.parametrize("server", ["threads", "gunicorn"])
@pytest.mark.xdist_group("gunicorn")
def test_concurrent_messages_of_one_resident_keep_state_consistent(request, sim, resident, db,
                                                                   server):
    if server == "gunicorn":
        request.getfixturevalue("via_gunicorn")
    p = sim.persona()
    p.follow(scene="jinning")
    p.say("1")
    p.say("跳过")
    # Two different answers at once: exactly one is taken as the building, the
    # other is then judged at the mobile step (and refused): never a mix.
    with ThreadPoolExecutor(2) as pool:
        a = pool.submit(p.sim.call, "POST", f"/personas/{p.openid}/send",
                        json={"type": "text", "content": "5栋1单元"})
        b = pool.submit(p.sim.call, "POST", f"/personas/{p.openid}/send",
                        json={"type": "text", "content": "6栋2单元"})
        replies = [a.result()["reply"], b.result()["reply"]]
    assert sum("手机号码（11位）" in r and "格式不对" not in r for r in replies) == 1
    assert sum("格式不对" in r for r in replies) == 1
    row = resident(p.openid)
    assert row.address in ("5栋1单元", "6栋2单元")
    assert db.get(Conversation, row.id).step == "mobile"


def test_a_message_that_waited_for_the_persons_lock_reads_the_conversation_it_left(sim, resident,
                                                                                   db, engine):
    """Another message of the same person moves their conversation while this one waits for
    their row: this one must answer at the step that message left, not the step it saw
    when it started (on PostgreSQL the lock and the load are one statement)."""
    p = sim.persona()
    p.follow(scene="jinning")
    p.say("1")
    p.say("跳过")  # at the building step
    rid = resident(p.openid).id
    conn = engine.connect()
    trans = conn.begin()
    conn.execute(text("UPDATE residents SET message_seq = message_seq + 1 WHERE id = :r"), {"r": rid})
    conn.execute(text("UPDATE conversations SET step = 'mobile' WHERE resident_id = :r"), {"r": rid})
    timer = threading.Timer(1.0, lambda: (trans.commit(), conn.close()))
    timer.start()
    try:
        reply = p.say("跳过")  # the mobile step's 跳过 finishes registration
    finally:
        timer.join()
    row = resident(p.openid)
    assert row.registered_at is not None and row.address is None
    assert "手机号码" not in reply
    assert db.get(Conversation, rid) is None


@pytest.mark.parametrize("words, flushed", [("菜单", "off"), ("我的信息", "on")])
def test_on_postgresql_only_a_message_that_changed_nothing_skips_the_wal_flush(chat, fast_db, words,
                                                                              flushed):
    """A menu word changes only the bookkeeping (its claim, the person's stamp); 我的信息
    opens a conversation, which must wait for the disk like any other write."""
    if fast_db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite's commits do not wait for a flush (synchronous=NORMAL in WAL)")
    alice = chat.registered("alice")
    fast_db.execute(text("SET LOCAL synchronous_commit TO on"))  # after registering
    assert alice.say(words)
    # the test's transaction is the message's: the setting stays until it ends
    assert fast_db.execute(text("SHOW synchronous_commit")).scalar() == flushed


def test_a_database_that_dropped_the_webhooks_connections_costs_no_one_a_busy_reply(sim, engine):
    """The webhook does not ping the database before each message: when the database has
    dropped its connections (a restart), the message runs again on a fresh one."""
    if engine.dialect.name != "postgresql":
        pytest.skip("an embedded SQLite file has no server to restart")
    p = sim.persona()
    p.follow(scene="jinning")
    p.say("取消")  # out of registration
    with engine.connect() as conn:
        dropped = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        assert dropped.scalar() >= 1
    reply = p.say("菜单")
    assert "请回复数字选择" in reply and text_of("busy") not in reply
