"""The time bank by chat: join, log, verify, balance, redeem, transfer, staff actions."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.db import make_session_factory, transaction
from models import (Account, AuditLog, LedgerEntry, OutboxMessage, Resident, ResidentRole, Role,
                    ServiceRecord)


def grant(engine, persona, role: Role) -> int:
    with transaction(make_session_factory(engine)) as session:
        rid = session.scalar(select(Resident.id).where(Resident.openid == persona.openid))
        session.add(ResidentRole(resident_id=rid, role=role, granted_by="test"))
        return rid


@pytest.fixture
def staff(registered, engine):
    person = registered("staff", mobile="13900000000")
    grant(engine, person, Role.STAFF)
    return person


@pytest.fixture
def volunteer(registered, engine):
    person = registered("vol", mobile="13811112222")
    grant(engine, person, Role.VOLUNTEER)
    return person


def log(p, hours="2", who="跳过", day="昨天", type_no="1") -> str:
    assert "服务类型" in p.say("记录服务")
    assert "哪一天" in p.say(type_no)
    assert "多长时间" in p.say(day)
    assert "服务对象" in p.say(hours)
    assert "描述" in p.say(who)
    p.say("陪老人聊天")
    assert "请确认" in p.say("跳过")
    reply = p.say("1")
    return re.search(r"S\d+", reply).group(0)


def balance(db, persona) -> int:
    db.rollback()
    return db.scalar(select(Account.balance).join(Resident, Resident.id == Account.owner_id)
                     .where(Resident.openid == persona.openid)) or 0


def test_apply_and_staff_approval(registered, staff, resident):
    p = registered("newbie")
    assert "特长" in p.say("申请志愿者")
    assert "什么时间" in p.say("陪伴聊天、理发")
    assert "已提交" in p.say("周末上午")
    assert "审核中" in p.say("申请志愿者")
    assert "先成为志愿者" in p.say("记录服务")
    listing = staff.say("审核")
    code = re.search(r"A\d+", listing).group(0)
    assert "陪伴聊天" in listing
    assert "没有权限" in p.say(f"通过 {code}")
    assert code in staff.say(f"通过 {code}")
    assert Role.VOLUNTEER in resident(p.openid).role_set
    assert "已经是志愿者" in p.say("申请志愿者")


def test_log_verify_by_staff_and_balance(volunteer, staff, db):
    code = log(volunteer)
    assert balance(db, volunteer) == 0  # pending does not count
    my = volunteer.say("我的时间")
    assert "余额0小时" in my and "待审核：1条共2小时" in my
    assert code in staff.say("审核")
    staff.say(f"通过 {code}")
    assert balance(db, volunteer) == 120
    my = volunteer.say("我的时间")
    assert "余额2小时" in my and "服务存入 +2小时" in my
    assert "审核过" in staff.say(f"通过 {code}") or "没有找到" in staff.last_reply


def test_beneficiary_confirms_in_their_own_chat(registered, volunteer, db):
    elder = registered("elder", mobile="13700001111")
    code = log(volunteer, who="13700001111")
    db.rollback()
    ask = db.scalars(select(OutboxMessage).where(OutboxMessage.resident_id == db.scalar(
        select(Resident.id).where(Resident.openid == elder.openid)))).all()
    assert any(code in o.payload["text"] for o in ask)
    outsider = registered("outsider")
    assert "没有找到需要您确认" in outsider.say(f"确认 {code}")  # not addressed to them
    assert balance(db, volunteer) == 0
    assert "谢谢确认" in elder.say(f"确认 {code}")
    assert balance(db, volunteer) == 120


@pytest.mark.parametrize("duration, complaint", [
    ("0", "没看懂时长"), ("-2", "没看懂时长"), ("25", "最多登记12小时"), ("两个半小时", None),
    ("45分钟", "30分钟为单位"), ("很久", "没看懂时长"), ("1小时30分", None), ("90分钟", None)])
def test_durations(volunteer, duration, complaint):
    volunteer.say("记录服务")
    volunteer.say("1")
    volunteer.say("今天")
    reply = volunteer.say(duration)
    if complaint:
        assert complaint in reply and "多长时间" in reply
    else:
        assert "服务对象" in reply


@pytest.mark.parametrize("day, complaint", [("2099-01-01", "未来"), ("2020-01-01", "最近30天"),
                                            ("某天", "没看懂日期")])
def test_bad_dates(volunteer, day, complaint):
    volunteer.say("记录服务")
    volunteer.say("1")
    assert complaint in volunteer.say(day)


def test_daily_maximum_across_records(volunteer, staff):
    log(volunteer, hours="10", day="昨天")
    volunteer.say("记录服务")
    volunteer.say("1")
    volunteer.say("昨天")
    volunteer.say("3")
    volunteer.say("跳过")
    volunteer.say("跳过")
    volunteer.say("跳过")
    assert "上限" in volunteer.say("1")


def test_redeem_hold_fulfil_and_overdraw(volunteer, staff, db):
    staff.say(f"通过 {log(volunteer, hours='2')}")
    assert "上门探访（1小时）" in volunteer.say("兑换")
    assert "确认用2小时" in volunteer.say("兑换 3")  # 陪同就医 2 h
    reply = volunteer.say("1")
    code = re.search(r"R\d+", reply).group(0)
    assert "无需重复提交" in volunteer.say("1")  # double tap: one booking only
    assert balance(db, volunteer) == 0
    volunteer.say("兑换 1")
    assert "余额不足" in volunteer.say("1")
    assert "没有编号 9" in volunteer.say("兑换 9")
    staff.say(f"兑现 {code}")
    db.rollback()
    kinds = db.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.id)).all()
    assert [k.value for k in kinds] == ["earn", "hold", "release", "redeem"]
    assert "处理过" in staff.say(f"兑现 {code}")


def test_transfer_and_donation_rules(volunteer, staff, registered, db):
    staff.say(f"通过 {log(volunteer, hours='4')}")
    daughter = registered("daughter", mobile="13622223333")
    assert "已转赠1小时" in volunteer.say("转赠 13622223333 1")
    assert balance(db, daughter) == 60
    assert "不能转赠给自己" in volunteer.say("转赠 13811112222 1")
    assert "没有找到" in volunteer.say("转赠 13500000000 1")
    assert "余额不足" in volunteer.say("转赠 13622223333 10")
    assert "已向社区公益池捐赠1小时" in volunteer.say("捐赠 1")
    assert balance(db, volunteer) == 120
    other = registered("far", mobile="13544445555")
    # a resident of another community is not "family" for transfers
    with transaction(make_session_factory(db.get_bind())) as session:
        session.execute(Resident.__table__.update().where(Resident.openid == other.openid)
                        .values(community_id=2))
    assert "本社区" in volunteer.say("转赠 13544445555 1")


def test_non_volunteers_cannot_log_and_staff_proxy_adjust_audit(registered, staff, db):
    grandpa = registered("grandpa", mobile="13333334444")
    assert "先成为志愿者" in grandpa.say("记录服务")
    assert "代录并审核" in staff.say("代录 13333334444 1 2 昨天")
    assert balance(db, grandpa) == 120
    assert "原因必填" in staff.say("调整 13333334444 -1")
    assert "-1小时" in staff.say("调整 13333334444 -1 重复登记")
    assert balance(db, grandpa) == 60
    assert "余额不足" in staff.say("调整 13333334444 -5 误录")
    assert "没有权限" in grandpa.say("调整 13333334444 +5 想多要")
    db.rollback()
    actions = db.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["proxy_log", "adjust"]


def test_cap_overflows_to_pool(volunteer, staff, db, config):
    staff.say(f"通过 {log(volunteer, hours='2')}")
    with transaction(make_session_factory(db.get_bind())) as session:  # nearly at the cap
        session.execute(Account.__table__.update().where(Account.owner_id.is_not(None))
                        .values(balance=1500 * 60 - 60))
        session.execute(LedgerEntry.__table__.insert().values(
            account_id=session.scalar(select(Account.id).where(Account.owner_id.is_not(None))),
            kind="adjust", minutes=1500 * 60 - 180, source="test", actor="test",
            created_at=__import__("models").utcnow()))
    staff.say(f"通过 {log(volunteer, hours='3', day='今天')}")
    assert balance(db, volunteer) == 1500 * 60
    db.rollback()
    pool = db.scalar(select(Account.balance).where(Account.owner_id.is_(None)))
    assert pool == 120
    told = db.scalars(select(OutboxMessage.payload).where(OutboxMessage.kind == "timebank")).all()
    assert any("上限1500小时" in p["text"] for p in told)


def test_leaderboard_and_opt_out(volunteer, staff):
    staff.say(f"通过 {log(volunteer, hours='2')}")
    assert "vol" in volunteer.say("排行榜") or "志愿者" in volunteer.last_reply
    volunteer.say("不上榜")
    assert "还没有记录" in volunteer.say("排行榜")


def test_ledger_sums_match_balances(volunteer, staff, registered, db):
    staff.say(f"通过 {log(volunteer, hours='3')}")
    registered("kid", mobile="13699998888")
    volunteer.say("转赠 13699998888 1")
    volunteer.say("捐赠 0.5")
    db.rollback()
    for account in db.scalars(select(Account)):
        total = db.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0))
                          .where(LedgerEntry.account_id == account.id))
        assert total == account.balance >= 0
    assert db.scalar(select(func.count()).select_from(ServiceRecord)) == 1


def test_monthly_statement_and_pending_reminders(volunteer, staff, config, db):
    from datetime import timedelta

    from models import utcnow
    from scheduler import timebank_jobs
    from tests.delivery_helpers import delivery_config, runtime
    rt = runtime(delivery_config(config))
    staff.say(f"通过 {log(volunteer, hours='2')}")
    code = log(volunteer, hours="1", day="今天")
    next_month = (utcnow().astimezone(config.tz).replace(day=1) + timedelta(days=32)).replace(day=2)
    assert timebank_jobs.monthly_statements(rt, next_month) == 1
    assert timebank_jobs.monthly_statements(rt, next_month) == 1  # same key: still one row
    db.rollback()
    [statement] = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "timebank_statement")).all()
    assert "存入2小时" in statement.payload["text"] and "余额2小时" in statement.payload["text"]
    assert timebank_jobs.remind_pending(rt, utcnow() + timedelta(days=4)) == 1
    assert timebank_jobs.remind_pending(rt, utcnow() + timedelta(days=5)) == 0  # once per record
    assert code
    rt.dispatcher.pool.shutdown()


def test_hours_expire_when_configured_oldest_first(volunteer, staff, config, db):
    from datetime import timedelta

    from bot.config import Config
    from models import utcnow
    from scheduler import timebank_jobs
    from tests.delivery_helpers import delivery_config, runtime
    staff.say(f"通过 {log(volunteer, hours='2')}")
    with transaction(make_session_factory(db.get_bind())) as session:  # earned 13 months ago
        session.execute(LedgerEntry.__table__.update().values(
            created_at=utcnow() - timedelta(days=400)))
    volunteer.say("捐赠 0.5")  # spends the oldest hours first
    never = runtime(delivery_config(config))
    assert timebank_jobs.expire_hours(never) == 0  # default: hours never expire
    yearly = runtime(Config({**delivery_config(config), "timebank": {
        **config["timebank"], "expiry_months": 12}}))
    assert timebank_jobs.expire_hours(yearly) == 90
    assert timebank_jobs.expire_hours(yearly) == 0  # nothing left to expire
    assert balance(db, volunteer) == 0
    for rt in (never, yearly):
        rt.dispatcher.pool.shutdown()


def test_milestone_is_announced_once(volunteer, staff, db):
    staff.say(f"通过 {log(volunteer, hours='2')}")  # opens the account
    with transaction(make_session_factory(db.get_bind())) as session:
        session.execute(Account.__table__.update().values(earned_total=50 * 60 - 60))
    staff.say(f"通过 {log(volunteer, hours='2', day='今天')}")
    staff.say(f"通过 {log(volunteer, hours='1', day='今天')}")
    db.rollback()
    told = [o.payload["text"] for o in db.scalars(select(OutboxMessage)
                                                  .where(OutboxMessage.kind == "timebank"))]
    assert sum("累计志愿服务已达50小时" in t for t in told) == 1


def test_another_communitys_catalogue_cannot_be_reached(volunteer, staff, config):
    staff.say(f"通过 {log(volunteer, hours='2')}")
    items = len(config["timebank"]["catalogue"]["default"])
    assert f"没有编号 {items + 1}" in volunteer.say(f"兑换 {items + 1}")
    assert "没有编号" in volunteer.say("兑换 hegang-visit")
