"""The time bank by chat: join, log, verify, balance, redeem, transfer, staff actions
(fast tier: in-process, rolled back, a manual clock)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from domain.timebank.input import parse_duration
from models import (
    Account,
    AuditLog,
    Community,
    LedgerEntry,
    OutboxMessage,
    Resident,
    ResidentRole,
    Role,
    ServiceRecord,
)
from scheduler import timebank_jobs


def grant(db, persona, role: Role) -> int:
    rid = persona.resident.id
    db.add(ResidentRole(resident_id=rid, role=role, granted_by="test"))
    db.flush()
    return rid


@pytest.fixture
def registered(chat):
    def make(nickname="alice", mobile="跳过", name=None):
        return chat.registered(nickname, mobile=mobile, name=name or nickname)
    return make


@pytest.fixture
def db(fast_db):
    return fast_db


@pytest.fixture
def staff(registered, db):
    person = registered("staff", mobile="13900000000")
    grant(db, person, Role.STAFF)
    return person


@pytest.fixture
def volunteer(registered, db):
    person = registered("vol", mobile="13811112222")
    grant(db, person, Role.VOLUNTEER)
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
    db.expire_all()
    return db.scalar(select(Account.balance).join(Resident, Resident.id == Account.owner_id)
                     .where(Resident.openid == persona.openid)) or 0


def test_apply_and_staff_approval(registered, staff):
    p = registered("newbie")
    assert "特长" in p.say("申请志愿者")
    assert "什么时间" in p.say("陪伴聊天、理发")
    assert "已提交" in p.say("周末上午")
    assert "审核中" in p.say("申请志愿者")
    assert "先成为志愿者" in p.say("记录服务")
    listing = staff.say("审核")
    code = re.search(r"A\d+", listing).group(0)
    assert "陪伴聊天" in listing
    p.say(f"通过 {code}")  # a resident typing a staff command approves nothing
    assert Role.VOLUNTEER not in p.resident.role_set
    assert code in staff.say(f"通过 {code}")
    assert Role.VOLUNTEER in p.resident.role_set
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


def test_my_time_counts_this_months_hours_apart_from_the_years(volunteer, staff, clock):
    """Hours are earned when staff approve them: November's count for the year only."""
    staff.say(f"通过 {log(volunteer, hours='2')}")  # approved 18 November
    clock.advance(days=14)  # 2 December
    staff.say(f"通过 {log(volunteer, hours='1')}")
    code = log(volunteer, hours="1.5")  # waits for staff
    my = volunteer.say("我的时间")
    assert "余额3小时" in my and "本月服务1小时，今年3小时" in my and "待审核：1条共1.5小时" in my
    assert code in staff.say("审核")


def test_beneficiary_confirms_in_their_own_chat(registered, volunteer, staff, db):
    elder = registered("elder", mobile="13700001111")
    code = log(volunteer, who="13700001111")
    assert any(code in text for text in elder.push_texts())
    outsider = registered("outsider")
    assert "没有找到需要您确认" in outsider.say(f"确认 {code}")  # not addressed to them
    assert balance(db, volunteer) == 0
    # the default policy (both): the elder's word, then a social worker's review
    assert "社工审核后" in elder.say(f"确认 {code}")
    assert balance(db, volunteer) == 0
    assert "待社工审核" not in staff.say("审核") and code in staff.last_reply
    staff.say(f"通过 {code}")
    assert balance(db, volunteer) == 120


@pytest.mark.parametrize("duration, complaint", [
    ("0", "没看懂时长"), ("-2", "没看懂时长"), ("25", "最多登记12小时"), ("45分钟", "30分钟为单位"),
    ("很久", "没看懂时长"), ("1" * 5000, "没看懂时长"), ("፩", "没看懂时长"), ("1e9", "没看懂时长")])
def test_bad_durations(volunteer, duration, complaint):
    volunteer.say("记录服务")
    volunteer.say("1")
    volunteer.say("今天")
    reply = volunteer.say(duration)
    assert complaint in reply and "多长时间" in reply


@pytest.mark.parametrize("duration, minutes", [
    ("2", 120), ("1.5", 90), ("１.５", 90), ("90分钟", 90), ("30分钟", 30), ("九十分钟", 90),
    ("1小时30分", 90), ("1小时30分钟", 90), ("两个半小时", 150), ("一个半小时", 90), ("两小时", 120),
    ("半小时", 30), ("两个钟", 120), ("一个半钟", 90), ("个半钟", 90), ("半个钟", 30),
    ("1个半小时", 90), ("3个小时", 180), ("两个钟头", 120), ("2h", 120)])
def test_every_accepted_duration_is_stored_right(volunteer, db, duration, minutes, config):
    assert parse_duration(duration, config) == minutes
    volunteer.say("记录服务")
    volunteer.say("1")
    volunteer.say("今天")
    assert "服务对象" in volunteer.say(duration)
    for answer in ("跳过", "跳过", "跳过"):
        volunteer.say(answer)
    code = re.search(r"S(\d+)", volunteer.say("1")).group(1)
    assert db.get(ServiceRecord, int(code)).minutes == minutes


@pytest.mark.parametrize("day, complaint", [("2099-01-01", "未来"), ("2020-01-01", "最近30天"),
                                            ("某天", "没看懂日期"), ("12月30日", "未来"),
                                            ("13月40日", "没看懂日期")])
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
    # told before confirming: 1 h needed, 0 h held
    assert "需要1小时，您现在有0小时" in volunteer.say("兑换 1")
    assert "没有编号 9" in volunteer.say("兑换 9")
    assert "没有编号" in volunteer.say("兑换 ９９") and "系统繁忙" not in volunteer.last_reply
    staff.say(f"兑现 {code}")
    db.expire_all()
    kinds = db.scalars(select(LedgerEntry.kind).order_by(LedgerEntry.id)).all()
    assert [k.value for k in kinds] == ["earn", "hold", "release", "redeem"]
    assert "处理过" in staff.say(f"兑现 {code}")


def test_transfer_and_donation_rules(volunteer, staff, registered, db):
    staff.say(f"通过 {log(volunteer, hours='4')}")
    daughter = registered("daughter", mobile="13622223333")
    assert "社区确认过的家人" in volunteer.say("转赠 13622223333 1")
    assert "社区核实后" in volunteer.say("家人 13622223333 女儿")
    staff.say(f"通过 {re.search(r'F[0-9]+', staff.say('审核')).group(0)}")
    assert "预留1小时" in volunteer.say("转赠 13622223333 1")
    assert balance(db, daughter) == 0 and balance(db, volunteer) == 180  # held until accepted
    assert "已收下1小时" in daughter.say("接受")
    assert balance(db, daughter) == 60
    assert "不能转赠给自己" in volunteer.say("转赠 13811112222 1")
    assert "没有找到" in volunteer.say("转赠 13500000000 1")
    assert "余额不足" in volunteer.say("转赠 13622223333 10")
    assert "已向社区公益池捐赠1小时" in volunteer.say("捐赠 1")
    assert balance(db, volunteer) == 120
    chat_far = registered("far", mobile="13544445555")
    # a resident of another community is never found by mobile for a transfer
    db.execute(update(Resident).where(Resident.openid == chat_far.openid).values(
        community_id=db.scalar(select(Community.id).where(Community.name == "仙湖社区"))))
    assert "没有找到" in volunteer.say("转赠 13544445555 1")


def test_non_volunteers_cannot_log_and_staff_proxy_adjust_audit(registered, staff, db):
    grandpa = registered("grandpa", mobile="13333334444")
    assert "先成为志愿者" in grandpa.say("记录服务")
    assert "代录并审核" in staff.say("代录 13333334444 1 2 昨天")
    assert balance(db, grandpa) == 120
    assert "原因必填" in staff.say("调整 13333334444 -1")
    assert "-1小时" in staff.say("调整 13333334444 -1 重复登记")
    assert balance(db, grandpa) == 60
    assert "余额不足" in staff.say("调整 13333334444 -5 误录")
    grandpa.say("调整 13333334444 +5 想多要")
    assert balance(db, grandpa) == 60
    db.expire_all()
    actions = db.scalars(select(AuditLog.action).where(AuditLog.actor.like("chat:%")).order_by(AuditLog.id)).all()
    assert actions == ["timebank_proxy_log", "timebank_adjust"]


def test_cap_overflows_to_pool(volunteer, staff, db, config, clock):
    staff.say(f"通过 {log(volunteer, hours='2')}")
    # nearly at the cap (kept consistent: the balance is the sum of entries)
    db.execute(Account.__table__.update().where(Account.owner_id.is_not(None))
               .values(balance=1500 * 60 - 60))
    db.execute(LedgerEntry.__table__.insert().values(
        account_id=db.scalar(select(Account.id).where(Account.owner_id.is_not(None))),
        kind="adjust", minutes=1500 * 60 - 180, source="test", actor="test", created_at=clock.now()))
    staff.say(f"通过 {log(volunteer, hours='3', day='今天')}")
    assert balance(db, volunteer) == 1500 * 60
    db.expire_all()
    pool = db.scalar(select(Account.balance).where(Account.owner_id.is_(None)))
    assert pool == 120
    told = db.scalars(select(OutboxMessage.payload).where(OutboxMessage.kind.like("timebank%"))).all()
    assert any("上限1500小时" in p["text"] for p in told)


def test_leaderboard_and_opt_out(volunteer, staff):
    staff.say(f"通过 {log(volunteer, hours='2')}")
    assert "1. v** 2小时" in volunteer.say("排行榜")  # names masked on the board
    volunteer.say("不上榜")
    assert "还没有记录" in volunteer.say("排行榜")


def test_ledger_sums_match_balances(volunteer, staff, registered, db):
    staff.say(f"通过 {log(volunteer, hours='3')}")
    registered("kid", mobile="13699998888")
    volunteer.say("转赠 13699998888 1")
    volunteer.say("捐赠 0.5")
    db.expire_all()
    for account in db.scalars(select(Account)):
        total = db.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0))
                          .where(LedgerEntry.account_id == account.id))
        assert total == account.balance >= 0
    assert db.scalar(select(func.count()).select_from(ServiceRecord)) == 1


def test_monthly_statement_and_pending_reminders(volunteer, staff, config, db, rt, clock):
    staff.say(f"通过 {log(volunteer, hours='2')}")
    code = log(volunteer, hours="1", day="今天")
    clock.advance(days=4)
    assert timebank_jobs.remind_pending(rt) == 1
    clock.advance(days=1)
    assert timebank_jobs.remind_pending(rt) == 0  # once per record
    clock.set(clock.now().replace(month=12, day=2))
    assert timebank_jobs.monthly_statements(rt) == 1
    assert timebank_jobs.monthly_statements(rt) == 1  # same key: still one row
    db.expire_all()
    [statement] = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "timebank_statement")).all()
    assert "存入2小时" in statement.payload["text"] and "余额2小时" in statement.payload["text"]
    assert code


def test_hours_expire_when_configured_oldest_first(volunteer, staff, config, db, rt, clock):
    from scheduler.jobs import Runtime

    staff.say(f"通过 {log(volunteer, hours='2')}")
    db.execute(LedgerEntry.__table__.update().values(created_at=clock.now() - timedelta(days=400)))
    volunteer.say("捐赠 0.5")  # spends the oldest hours first
    assert timebank_jobs.expire_hours(rt) == 0  # default: hours never expire
    yearly = Runtime(config.with_overrides({"timebank": {"expiry_months": 12}}), rt.sessions,
                     None, clock)
    assert timebank_jobs.expire_hours(yearly) == 90
    assert timebank_jobs.expire_hours(yearly) == 0  # nothing left to expire
    assert balance(db, volunteer) == 0


def test_milestone_is_announced_once(volunteer, staff, db):
    staff.say(f"通过 {log(volunteer, hours='2')}")  # opens the account
    db.execute(Account.__table__.update().values(earned_total=50 * 60 - 60))
    staff.say(f"通过 {log(volunteer, hours='2', day='今天')}")
    staff.say(f"通过 {log(volunteer, hours='1', day='今天')}")
    db.expire_all()
    told = [o.payload["text"] for o in db.scalars(select(OutboxMessage)
                                                  .where(OutboxMessage.kind.like("timebank%")))]
    assert sum("累计志愿服务已达50小时" in t for t in told) == 1


def test_another_communitys_catalogue_cannot_be_reached(volunteer, staff, config):
    staff.say(f"通过 {log(volunteer, hours='2')}")
    items = len(config.timebank.catalogue["default"])
    assert f"没有编号 {items + 1}" in volunteer.say(f"兑换 {items + 1}")
    # Not a number: read as "what can I redeem", answered with their own community's list.
    reply = volunteer.say("兑换 hegang-visit")
    assert "金宁社区" in reply and "hegang" not in reply


def test_the_catalogue_takes_a_number_and_a_command_mid_way_is_done_afresh(volunteer, staff):
    staff.say(f"通过 {log(volunteer, hours='2')}")
    assert "2. 助餐送餐" in volunteer.say("兑换")
    assert "确认用0.5小时兑换“助餐送餐”" in volunteer.say("2")  # the catalogue's 2, not the menu's
    assert "确认用1小时兑换“上门探访”" in volunteer.say("兑换 1")  # another item: asked afresh
    assert "余额2小时" in volunteer.say("我的时间")  # nothing held by the dropped question
    assert "确认用2小时" in volunteer.say("兑换 3")
    assert "已申请兑换" in volunteer.say("好")


def test_bare_confirm_takes_the_only_waiting_record_or_lists_them(registered, volunteer, db):
    elder = registered("elder", mobile="13700001111")
    assert "没有需要您确认" in elder.say("确认")
    first = log(volunteer, who="13700001111", hours="1")
    assert "谢谢确认" in elder.say("确认")
    db.expire_all()
    assert db.get(ServiceRecord, int(first[1:])).confirmed_at is not None
    second, third = (log(volunteer, who="13700001111", hours="1", day=d) for d in ("前天", "11月15日"))
    listing = elder.say("确认")
    assert f"{second} " in listing and f"{third} " in listing and f"{first} " not in listing
    assert "已经确认过" in elder.say(f"确认 {first}")  # already confirmed: not asked twice


def test_the_menu_while_picking_from_the_catalogue_shows_the_catalogue_again(volunteer, staff):
    staff.say(f"通过 {log(volunteer, hours='2')}")
    volunteer.say("兑换")
    assert "2. 助餐送餐" in volunteer.say("菜单")  # still choosing: the question again
    assert "确认用0.5小时兑换“助餐送餐”" in volunteer.say("2")
