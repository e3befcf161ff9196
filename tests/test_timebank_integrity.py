"""Time bank integrity: a refused operation leaves nothing behind; concurrent spending,
opposite transfers (offered and accepted at once) and staff entering hours at once keep
every rule.

The property test plays what the chat pipeline does: several operations in one
transaction that commits, each refusal caught by its adapter. Only the use case's
savepoint keeps a refused operation from committing half of itself.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.clock import SYSTEM
from core.db import make_engine, make_session_factory, transaction
from domain.actor import Actor
from domain.errors import Refused
from domain.timebank import exchange, family, records, verification
from domain.timebank.ledger import account_of, post
from domain.unit import Unit
from models import (
    Account,
    Community,
    EntryKind,
    FamilyLink,
    LedgerEntry,
    LinkStatus,
    RecordStatus,
    Redemption,
    RedemptionStatus,
    Resident,
    ResidentRole,
    Role,
    ServiceRecord,
    Transfer,
    TransferStatus,
)
from tests.scheduler_helpers import seed_followers


def consistent(session) -> None:
    """Every cached balance is the sum of its entries, and nothing is orphaned."""
    session.expire_all()
    for account in session.scalars(select(Account)):
        total = session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0))
                               .where(LedgerEntry.account_id == account.id))
        assert total == account.balance >= 0, f"account {account.id}"
    for redemption in session.scalars(select(Redemption)):
        kinds = sorted(session.scalars(select(LedgerEntry.kind).where(
            LedgerEntry.source == f"redemption:{redemption.id}")))
        expected = {RedemptionStatus.HELD: [EntryKind.HOLD],
                    RedemptionStatus.CANCELLED: [EntryKind.HOLD, EntryKind.RELEASE],
                    RedemptionStatus.FULFILLED: [EntryKind.HOLD, EntryKind.REDEEM, EntryKind.RELEASE]}
        assert kinds == sorted(expected[redemption.status]), f"redemption {redemption.id}"
    for record in session.scalars(select(ServiceRecord)):
        credited = session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
            LedgerEntry.source == f"record:{record.id}")) or 0
        assert credited == (record.minutes if record.status is RecordStatus.APPROVED else 0)
    for transfer in session.scalars(select(Transfer)):
        kinds = sorted(session.scalars(select(LedgerEntry.kind).where(
            LedgerEntry.source == f"transfer:{transfer.id}")))
        expected = {TransferStatus.PENDING: [EntryKind.HOLD],
                    TransferStatus.DECLINED: [EntryKind.HOLD, EntryKind.RELEASE],
                    TransferStatus.EXPIRED: [EntryKind.HOLD, EntryKind.RELEASE],
                    TransferStatus.ACCEPTED: [EntryKind.HOLD, EntryKind.RELEASE, EntryKind.TRANSFER_IN,
                                              EntryKind.TRANSFER_OUT]}
        assert kinds == sorted(expected[transfer.status]), f"transfer {transfer.id}"


OPS = st.one_of(
    st.tuples(st.just("earn"), st.integers(0, 2), st.sampled_from([30, 60, 120, 600, 900])),
    st.tuples(st.just("redeem"), st.integers(0, 2), st.integers(1, 5)),
    st.tuples(st.just("settle"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("transfer"), st.integers(0, 2), st.integers(0, 2), st.sampled_from([30, 90, 6000])),
    st.tuples(st.just("answer"), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("donate"), st.integers(0, 2), st.sampled_from([30, 60, 99999])),
    st.tuples(st.just("adjust"), st.integers(0, 2), st.sampled_from([-300, -30, 30, 300, 10 ** 9])),
    st.tuples(st.just("approve_again"), st.integers(0, 5)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(st.lists(OPS, min_size=1, max_size=4), min_size=1, max_size=8))
def test_refused_operations_leave_nothing_behind(fast_db, uow, config, messages):
    small = Unit(fast_db, config.with_overrides({"timebank": {"balance_cap_hours": 10}}), uow.clock)
    with fast_db.begin_nested() as example:  # each example starts from the same world
        community = fast_db.scalar(select(Community.id).where(Community.name == "金宁社区"))
        residents = [Resident(openid=f"o-prop-{i}", community_id=community, mobile=f"1390000000{i}",
                              followed=True, created_at=uow.now) for i in range(3)]
        fast_db.add_all(residents)
        fast_db.flush()
        for r in residents:
            fast_db.add(ResidentRole(resident_id=r.id, role=Role.VOLUNTEER, granted_by="t"))
        confirm_family(fast_db, residents)
        staff = Actor.cli("test")
        refused = accepted = 0
        for message in messages:
            with fast_db.begin_nested():  # one chat message: its transaction commits
                for op in message:
                    try:
                        _apply(small, staff, residents, op)
                        accepted += 1
                    except Refused:
                        refused += 1  # the adapter answers kindly and carries on
            consistent(fast_db)
        assert refused + accepted == sum(len(m) for m in messages)
        example.rollback()


def confirm_family(session, people: list[Resident]) -> None:
    """Everyone is everyone's confirmed family member (transfers need the link)."""
    session.add_all(FamilyLink(resident_id=a.id, relative_id=b.id, community_id=a.community_id,
                               status=LinkStatus.CONFIRMED, created_at=a.created_at)
                    for a in people for b in people if a.id != b.id)
    session.flush()


def _apply(uow: Unit, staff: Actor, people: list[Resident], op: tuple) -> None:
    kind = op[0]
    if kind == "earn":
        record = records.proxy_log(uow, staff, people[op[1]], service_type="上门探访",
                                   day=uow.now.date(), minutes=op[2])
        assert record.status is RecordStatus.APPROVED
    elif kind == "redeem":
        exchange.request_redemption(uow, people[op[1]], op[2])
    elif kind == "settle":
        held = uow.session.scalars(select(Redemption).order_by(Redemption.id)).all()
        if held:
            exchange.settle_redemption(uow, staff, held[op[1] % len(held)], op[2])
    elif kind == "transfer":
        family.offer(uow, people[op[1]], people[op[2]], op[3])
    elif kind == "answer":
        offered = uow.session.scalars(select(Transfer).order_by(Transfer.id)).all()
        if offered:
            transfer = offered[op[1] % len(offered)]
            receiver = uow.session.get(Resident, transfer.receiver_id)
            (family.accept if op[2] else family.decline)(uow, receiver, transfer)
    elif kind == "donate":
        exchange.donate(uow, people[op[1]], op[2])
    elif kind == "adjust":
        exchange.adjust(uow, staff, account_of(uow, people[op[1]]), op[2], "test")
    elif kind == "approve_again":
        done = uow.session.scalars(select(ServiceRecord).order_by(ServiceRecord.id)).all()
        if done:
            verification.approve(uow, staff, done[op[1] % len(done)])


def test_refused_redemption_leaves_no_hold_to_cancel(chat, fast_db):
    """The reported case: 1 h, 兑换 3 (2 h) → refused; nothing to cancel or fulfil later."""
    vol = chat.registered("vol", mobile="13811112222")
    staff = chat.registered("staff", mobile="13900000000")
    for person, role in ((vol, Role.VOLUNTEER), (staff, Role.STAFF)):
        fast_db.add(ResidentRole(resident_id=person.resident.id, role=role, granted_by="t"))
    fast_db.flush()
    staff.say("调整 13811112222 +1 开户")
    assert "还不够" in vol.say("兑换 3")  # told before confirming
    staff.say("调整 13811112222 +1 补录")
    assert "确认用2小时" in vol.say("兑换 3")
    staff.say("调整 13811112222 -1 误录")  # the balance drops before the 1 arrives
    assert "余额不足" in vol.say("1")
    assert fast_db.scalar(select(func.count()).select_from(Redemption)) == 0
    assert "没有找到" in staff.say("取消兑换 R1") and "没有找到" in staff.say("兑现 R1")
    consistent(fast_db)
    assert fast_db.scalar(select(Account.balance).where(Account.owner_id == vol.resident.id)) == 60


@pytest.mark.parametrize("amount", ["+1000000000", "+1e9", "+1501", "-99999999999999999999"])
def test_adjustments_are_bounded(chat, fast_db, amount):
    vol = chat.registered("vol", mobile="13811112222")
    staff = chat.registered("staff", mobile="13900000000")
    fast_db.add(ResidentRole(resident_id=staff.resident.id, role=Role.STAFF, granted_by="t"))
    fast_db.flush()
    staff.say("调整 13811112222 +1 开户")
    reply = staff.say(f"调整 13811112222 {amount} 测试")
    assert "系统繁忙" not in reply and ("太大" in reply or "没看懂" in reply or "没能看懂" in reply)
    assert fast_db.scalar(select(Account.balance).where(Account.owner_id == vol.resident.id)) == 60
    consistent(fast_db)


# --- concurrency, through a multi-worker webhook on the real database ------------------------

def _setup(db_url: str, sim, count: int, prefix: str) -> tuple[list[str], dict[str, Resident]]:
    openids = seed_followers(db_url, sim, count, prefix=prefix)
    engine = make_engine(db_url)
    with transaction(make_session_factory(engine)) as session:
        people = {r.openid: r for r in session.scalars(select(Resident).where(
            Resident.openid.in_(openids)))}
        for n, openid in enumerate(openids):
            people[openid].mobile = f"136{n:08d}"
        confirm_family(session, list(people.values()))
    engine.dispose()
    return openids, people


def _fund(db_url: str, config, resident_ids: list[int], minutes: int, *roles: Role) -> None:
    engine = make_engine(db_url)
    with transaction(make_session_factory(engine)) as session:
        uow = Unit(session, config, SYSTEM)
        for rid in resident_ids:
            person = session.get(Resident, rid)
            for role in roles:
                session.add(ResidentRole(resident_id=rid, role=role, granted_by="t"))
            if minutes:
                post(uow, account_of(uow, person).id, minutes, EntryKind.ADJUST, source="seed", actor="t")
    engine.dispose()


def _say(sim, openid: str, words: str) -> str:
    return sim.call("POST", f"/personas/{openid}/send", json={"type": "text", "content": words})["reply"]


@pytest.mark.xdist_group("gunicorn")
def test_concurrent_transfers_never_overdraw(via_gunicorn, db_url, db, config):
    sim = via_gunicorn
    openids, people = _setup(db_url, sim, 6, "otb")
    rich = openids[0]
    _fund(db_url, config, [people[rich].id], 180)
    # 12 transfers of 1 h at once, from several workers: only 3 can succeed
    with ThreadPoolExecutor(12) as pool:
        replies = list(pool.map(lambda n: _say(sim, rich, f"转赠 136{n % 5 + 1:08d} 1"), range(12)))
    assert sum("已为" in r and "预留1小时" in r for r in replies) == 3, replies
    assert sum("余额不足" in r for r in replies) == 9, replies
    db.rollback()
    consistent(db)


@pytest.mark.xdist_group("gunicorn")
def test_opposite_transfers_all_complete(via_gunicorn, db_url, db, config):
    """A → B and B → A at once lock the two accounts in the same order: no deadlock, and a
    serialization failure would be retried; every message gets its own answer."""
    sim = via_gunicorn
    openids, people = _setup(db_url, sim, 2, "oxt")
    a, b = openids
    _fund(db_url, config, [people[a].id, people[b].id], 60 * 60)
    jobs = [(a, "13600000001"), (b, "13600000000")] * 30
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda job: _say(sim, job[0], f"转赠 {job[1]} 1"), jobs))
    assert all("预留1小时" in r for r in replies), [r for r in replies if "预留" not in r]
    # each accepts what the other offered, at once: both accounts locked in the same order
    db.rollback()
    offers = db.execute(select(Transfer.id, Resident.openid).join(
        Resident, Resident.id == Transfer.receiver_id)).all()
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda o: _say(sim, o[1], f"接受 Z{o[0]}"), offers))
    assert len(offers) == 60 and all("已收下1小时" in r for r in replies), \
        [r for r in replies if "已收下" not in r]
    db.rollback()
    consistent(db)
    balances = db.scalars(select(Account.balance).where(
        Account.owner_id.in_([people[a].id, people[b].id]))).all()
    assert sorted(balances) == [3600, 3600]


@pytest.mark.xdist_group("gunicorn")
def test_staff_entering_hours_at_once_respect_the_daily_cap(via_gunicorn, db_url, db, config):
    sim = via_gunicorn
    openids, people = _setup(db_url, sim, 5, "ocap")
    volunteer, *staff = openids
    _fund(db_url, config, [people[o].id for o in staff], 0, Role.STAFF)
    day = (SYSTEM.now().astimezone(config.tz) - timedelta(days=1)).strftime("%m月%d日")
    jobs = [o for o in staff for _ in range(2)]  # 4 staff × 2 entries × 2 h = 16 h asked
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda o: _say(sim, o, f"代录 13600000000 1 2 {day}"), jobs))
    assert sum("代录并审核" in r for r in replies) == 6, replies
    assert sum("上限" in r for r in replies) == 2, replies
    db.rollback()
    logged = db.scalar(select(func.sum(ServiceRecord.minutes)).where(
        ServiceRecord.volunteer_id == people[volunteer].id))
    assert logged == 12 * 60
    consistent(db)
