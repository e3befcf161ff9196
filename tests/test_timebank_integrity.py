"""Time bank integrity: concurrent spending never overdraws; random histories stay consistent."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot import timebank as tb
from bot.config import Config
from bot.db import make_engine, make_session_factory, transaction
from models import (Account, EntryKind, LedgerEntry, Redemption, RedemptionStatus, Resident,
                    ResidentRole, Role, ServiceRecord, utcnow)
from tests.scheduler_helpers import seed_followers


def _consistent(session) -> None:
    for account in session.scalars(select(Account)):
        total = session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0))
                               .where(LedgerEntry.account_id == account.id))
        assert total == account.balance >= 0


def test_concurrent_redemptions_and_transfers_never_overdraw(via_gunicorn, db_url, db, config):
    sim = via_gunicorn
    [rich, *family] = seed_followers(db_url, sim, 6, prefix="otb")
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        people = {r.openid: r for r in session.scalars(select(Resident).where(
            Resident.openid.in_([rich, *family])))}
        for n, openid in enumerate(family):
            people[openid].mobile = f"1360000000{n}"
        giver = people[rich]
        session.add(ResidentRole(resident_id=giver.id, role=Role.VOLUNTEER, granted_by="t"))
        account = tb.account_of(session, giver)
        tb.post(session, account.id, 180, EntryKind.ADJUST, source="seed", actor="test")  # 3 h
    engine.dispose()

    def say(words: str) -> str:
        return sim.call("POST", f"/personas/{rich}/send", json={"type": "text", "content": words})["reply"]

    # 12 transfers of 1 h at once, from several workers: only 3 can succeed
    with ThreadPoolExecutor(12) as pool:
        replies = list(pool.map(lambda n: say(f"转赠 1360000000{n % 5} 1"), range(12)))
    assert sum("已转赠" in r for r in replies) == 3
    assert sum("余额不足" in r for r in replies) == 9
    db.rollback()
    _consistent(db)
    assert db.scalar(select(Account.balance).where(Account.owner_id == giver.id)) == 0


@st.composite
def histories(draw):
    ops = st.one_of(
        st.tuples(st.just("earn"), st.integers(0, 2), st.sampled_from([30, 60, 120, 600])),
        st.tuples(st.just("redeem"), st.integers(0, 2), st.sampled_from([30, 60, 120])),
        st.tuples(st.just("settle"), st.integers(0, 5), st.booleans()),
        st.tuples(st.just("transfer"), st.integers(0, 2), st.integers(0, 2), st.sampled_from([30, 90])),
        st.tuples(st.just("donate"), st.integers(0, 2), st.sampled_from([30, 60])),
        st.tuples(st.just("adjust"), st.integers(0, 2), st.integers(-300, 300)),
    )
    return draw(st.lists(ops, min_size=1, max_size=25))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_random_histories_keep_the_ledger_consistent(sim, config, db_url, history):
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    small = Config({**config, "timebank": {**config["timebank"], "balance_cap_hours": 10}})
    with transaction(sessions) as session:
        session.execute(LedgerEntry.__table__.delete())
        session.execute(Redemption.__table__.delete())
        session.execute(ServiceRecord.__table__.delete())
        session.execute(Account.__table__.delete())
        residents = list(session.scalars(select(Resident).where(Resident.community_id.is_not(None))
                                         .order_by(Resident.id).limit(3)))
    item = {"code": "visit", "name": "上门探访", "hours": 1}
    now = utcnow()
    for op in history:
        try:
            with transaction(sessions) as session:
                people = [session.get(Resident, r.id) for r in residents]
                kind = op[0]
                if kind == "earn":
                    record = tb.log_service(session, small, people[op[1]], service_type="上门探访",
                                            day=now.date(), minutes=op[2], beneficiary=None,
                                            beneficiary_name=None, description=None, photo=None,
                                            entered_by="test", now=now)
                    session.execute(ServiceRecord.__table__.update().values(service_date=now.date()))
                    tb.approve(session, small, record, "test", now)
                elif kind == "redeem":
                    tb.request_redemption(session, people[op[1]], {**item, "hours": op[2] / 60}, now)
                elif kind == "settle":
                    held = session.scalars(select(Redemption).where(
                        Redemption.status == RedemptionStatus.HELD).order_by(Redemption.id)).all()
                    if held:
                        tb.settle_redemption(session, held[op[1] % len(held)], op[2], "test", now)
                elif kind == "transfer":
                    tb.transfer(session, small, people[op[1]], people[op[2]], op[3], now)
                elif kind == "donate":
                    tb.donate(session, people[op[1]], op[2], now)
                elif kind == "adjust":
                    tb.post(session, tb.account_of(session, people[op[1]]).id, op[2],
                            EntryKind.ADJUST, source="test", actor="test")
        except tb.TimebankError:
            pass  # refused operations change nothing
        with sessions() as session:
            _consistent(session)
            cap = 10 * 60
            for account in session.scalars(select(Account).where(Account.owner_id.is_not(None))):
                earned_only = session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0))
                                             .where(LedgerEntry.account_id == account.id,
                                                    LedgerEntry.kind == EntryKind.EARN))
                assert earned_only <= cap + 600  # the cap bounds what earning alone can add
    engine.dispose()
