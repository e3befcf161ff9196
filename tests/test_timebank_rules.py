"""The time bank's rules as public schemes run them: who verifies (per community), flags for
self-dealing, transfers only to a confirmed family member who accepts, and hours proposed
from a volunteer activity's check-in (fast tier: in-process, rolled back, a manual clock)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.actor import Actor
from domain.errors import Refused
from domain.meetings import admin, signups
from domain.timebank import family, records, verification
from domain.unit import Unit
from models import (
    Account,
    AuditLog,
    FamilyLink,
    LinkStatus,
    Meeting,
    MeetingType,
    RecordStatus,
    Resident,
    ResidentRole,
    Role,
    ServiceRecord,
    Transfer,
    TransferStatus,
)
from tests.meeting_helpers import STAFF, make_meeting
from tests.test_timebank import balance, log


@pytest.fixture
def db(fast_db):
    return fast_db


@pytest.fixture
def registered(chat):
    def make(nickname, mobile="跳过", address="3栋2单元"):
        return chat.registered(nickname, mobile=mobile, name=nickname, address=address)
    return make


def grant(db, person, role):
    db.add(ResidentRole(resident_id=person.resident.id, role=role, granted_by="t"))
    db.flush()


@pytest.fixture
def staff(registered, db):
    person = registered("社工", mobile="13900000000")
    grant(db, person, Role.STAFF)
    return person


@pytest.fixture
def volunteer(registered, db):
    person = registered("志愿者", mobile="13811112222", address="5栋1单元301")
    grant(db, person, Role.VOLUNTEER)
    return person


@pytest.fixture
def elder(registered):
    return registered("李婆婆", mobile="13700001111", address="3栋2单元502")


def record(db, code: str) -> ServiceRecord:
    db.expire_all()
    return db.get(ServiceRecord, int(code[1:]))


def with_policy(uow, policy: str, **more) -> Unit:
    return Unit(uow.session, uow.config.with_overrides(
        {"timebank": {"verification": {"金宁社区": policy, "default": "both"}, **more}}), uow.clock)


# --- verification policy --------------------------------------------------------------------

def test_both_by_default_in_either_order(volunteer, elder, staff, db):
    """Staff first, then the person served: credited at the second half, not the first."""
    code = log(volunteer, who="13700001111")
    assert f"{code} " in staff.say("审核")
    assert "待服务对象确认" in staff.say(f"通过 {code}")
    assert balance(db, volunteer) == 0 and record(db, code).reviewed_at is not None
    assert "已审核，待服务对象确认" in staff.say("审核")
    assert elder.say("确认").startswith("谢谢确认！志愿者为您提供的“上门探访”2小时已存入")
    assert balance(db, volunteer) == 120 and record(db, code).status is RecordStatus.APPROVED
    assert record(db, code).verifier == "社工审核；服务对象李婆婆确认"  # the ledger's 审核人: both


def test_a_name_typed_or_a_dispute_leaves_it_to_staff(volunteer, elder, staff, db):
    typed = log(volunteer, who="陈伯")
    disputed = log(volunteer, who="13700001111", day="前天")
    assert "已记录，社区会核实" in elder.say(f"不确认 {disputed}")
    for code in (typed, disputed):
        assert "已审核通过" in staff.say(f"通过 {code}")
    assert balance(db, volunteer) == 240


def test_beneficiary_policy_credits_on_their_word(volunteer, elder, uow, db):
    one = with_policy(uow, "beneficiary")
    vol, old = volunteer.resident, elder.resident
    made = records.log_service(one, vol, service_type="上门探访", day=uow.now.date() - timedelta(days=1),
                               minutes=60, beneficiary=old, beneficiary_name=None, description=None,
                               photo=None)
    assert verification.waiting_on(one, made) == {"beneficiary"}
    assert verification.beneficiary_confirms(one, old, made) is True
    assert balance(db, volunteer) == 60


def test_staff_policy_does_not_ask_the_person_served(volunteer, elder, uow, db):
    one = with_policy(uow, "staff")
    made = records.log_service(one, volunteer.resident, service_type="上门探访",
                               day=uow.now.date() - timedelta(days=1), minutes=60,
                               beneficiary=elder.resident, beneficiary_name=None, description=None, photo=None)
    assert not [t for t in elder.push_texts() if f"S{made.id}" in t]
    assert verification.waiting_on(one, made) == {"staff"}
    assert verification.approve(one, Actor.cli("t"), made) is True
    assert balance(db, volunteer) == 60


def test_policy_is_validated(config):
    with pytest.raises(Exception):
        config.with_overrides({"timebank": {"verification": {"default": "anyone"}}})


# --- self-dealing flags ------------------------------------------------------------------------

def test_same_home_family_and_frequent_pairs_are_flagged_for_staff(registered, volunteer, elder, staff, uow, db):
    housemate = registered("同住", mobile="13611110000", address="5栋1单元301室")
    same_home = log(volunteer, who="13611110000")
    assert record(db, same_home).flags == ["household"]
    family.declare(uow, volunteer.resident, elder.resident, "母亲")
    kin = log(volunteer, who="13700001111", day="前天", hours="1")
    assert record(db, kin).flags == ["family"]
    listing = staff.say("审核")
    assert f"{same_home} " in listing and "【同一住户】" in listing and "【家属】" in listing
    # even where the person served alone would do, a flagged record waits for staff
    one = with_policy(uow, "beneficiary")
    assert verification.beneficiary_confirms(one, housemate.resident, record(db, same_home)) is False
    assert balance(db, volunteer) == 0
    # 全部通过 leaves flagged records for one-by-one review, and says so
    plain = log(volunteer, who="跳过", day="11月15日", hours="1")
    reply = staff.say("全部通过")
    assert "已审核通过1条" in reply and same_home in reply and kin in reply
    assert record(db, plain).status is RecordStatus.APPROVED
    assert record(db, same_home).status is RecordStatus.PENDING
    staff.say(f"通过 {same_home}")  # one by one, the flag seen
    assert record(db, same_home).status is RecordStatus.APPROVED
    db.expire_all()
    row = db.scalars(select(AuditLog).where(AuditLog.target == f"record:{same_home[1:]}")).one()
    assert row.after["flags"] == ["household"]


def test_the_same_pair_too_often(volunteer, elder, uow, db):
    few = Unit(uow.session, uow.config.with_overrides({"timebank": {"pair_max": 2}}), uow.clock)
    made = [records.log_service(few, volunteer.resident, service_type="上门探访",
                                day=uow.now.date() - timedelta(days=n), minutes=60, beneficiary=elder.resident,
                                beneficiary_name=None, description=None, photo=None) for n in (1, 2, 3)]
    assert [m.flags for m in made] == [None, None, ["pair:3"]]
    assert verification.flag_texts(made[2], 30) == ["30天内与同一对象第3次"]


# --- family members and transfers ------------------------------------------------------------

def fund(uow, person, minutes):
    records.proxy_log(uow, Actor.cli("t"), person.resident, service_type="上门探访",
                      day=uow.now.date(), minutes=minutes)


def test_transfer_to_a_confirmed_family_member_who_accepts(registered, volunteer, elder, staff, uow, db, rt,
                                                         clock):
    fund(uow, volunteer, 300)
    stranger = registered("路人", mobile="13622223333")
    assert "社区确认过的家人" in volunteer.say("转赠 13622223333 1")
    assert "还没有登记家人" in volunteer.say("家人")
    assert "没有找到" in volunteer.say("家人 13500000000 母亲")
    assert "不能把自己" in volunteer.say("家人 13811112222")
    assert "社区核实后" in volunteer.say("家人 13700001111 母亲")
    assert "正在等社区确认" in volunteer.say("家人 13700001111 母亲")
    assert "待社区确认" in volunteer.say("家人")
    assert "社区确认过的家人" in volunteer.say("转赠 13700001111 1")  # not yet confirmed
    link = db.scalars(select(FamilyLink)).one()
    listing = staff.say("审核")
    assert f"F{link.id} 志愿者 登记家人：李婆婆母亲" in listing
    assert "已处理" in staff.say(f"通过 F{link.id}")
    assert any("社区已确认李婆婆" in t for t in volunteer.push_texts())
    assert "已确认" in volunteer.say("家人")
    # held on the giver until accepted; the family member is asked
    reply = volunteer.say("转赠 13700001111 1")
    assert "已为李婆婆预留1小时" in reply and "7天内" in reply
    assert balance(db, volunteer) == 240 and balance(db, elder) == 0
    assert any("您的家人志愿者想把1小时" in t for t in elder.push_texts())
    assert "没有找到" in stranger.say(f"接受 {re.search(r'Z[0-9]+', reply).group(0)}")
    assert "已收下1小时" in elder.say("接受")
    assert balance(db, elder) == 60 and balance(db, volunteer) == 240
    assert any("李婆婆已收下" in t for t in volunteer.push_texts())
    assert "没有转给您" in elder.say("接受")
    # given back, or not answered in time: the hours return
    volunteer.say("转赠 13700001111 0.5")
    volunteer.say("转赠 13700001111 1")
    listing = elder.say("接受")
    assert len(re.findall(r"Z\d+ 志愿者", listing)) == 2 and "接受 编号" in listing
    first, second = db.scalars(select(Transfer).where(Transfer.status == TransferStatus.PENDING)
                               .order_by(Transfer.id)).all()
    assert "已退回0.5小时" in elder.say(f"退回 Z{first.id}")
    assert "处理过了" in elder.say(f"接受 Z{first.id}")
    assert balance(db, volunteer) == 180  # 1 h still held
    clock.advance(days=8)
    from scheduler import timebank_jobs
    assert timebank_jobs.return_transfers(rt) == 1
    db.expire_all()
    assert db.get(Transfer, second.id).status is TransferStatus.EXPIRED
    assert balance(db, volunteer) == 240 and balance(db, elder) == 60
    assert any("没有在期限内接受" in t for t in volunteer.push_texts())


def test_staff_decline_a_family_link_with_a_reason(volunteer, elder, staff, db):
    volunteer.say("家人 13700001111 母亲")
    link = db.scalars(select(FamilyLink)).one()
    assert "原因" in staff.say(f"驳回 F{link.id}") or "原因" in staff.last_reply
    staff.say(f"驳回 F{link.id} 户口簿上不是一家")
    db.expire_all()
    assert db.get(FamilyLink, link.id).status is LinkStatus.DECLINED
    assert any("户口簿上不是一家" in t for t in volunteer.push_texts())
    assert "未通过" in volunteer.say("家人")
    assert "社区核实后" in volunteer.say("家人 13700001111 母亲")  # may ask again


def test_a_refused_transfer_leaves_nothing(volunteer, elder, uow, db):
    family.declare(uow, volunteer.resident, elder.resident, None)
    link = db.scalars(select(FamilyLink)).one()
    family.decide_link(uow, Actor.cli("t"), link, True)
    with pytest.raises(Refused):
        family.offer(uow, volunteer.resident, elder.resident, 60)  # no balance
    assert db.scalars(select(Transfer)).all() == []


# --- hours from a volunteer activity -----------------------------------------------------------

def test_check_in_at_a_volunteer_activity_proposes_its_hours(registered, volunteer, staff, uow, db):
    mid = make_meeting(uow, type=MeetingType.VOLUNTEER, title="长者探访志愿活动",
                       starts_at=uow.now + timedelta(hours=1), ends_at=uow.now + timedelta(hours=3, minutes=40))
    neighbour = registered("邻居")
    codes = {person.nickname: signups.sign_up(uow, mid, person.resident).checkin_code
             for person in (volunteer, neighbour)}
    for code in codes.values():
        admin.check_in(uow, STAFF, db.get(Meeting, mid), code)
    db.expire_all()
    [proposed] = db.scalars(select(ServiceRecord)).all()
    assert (proposed.volunteer_id, proposed.minutes, proposed.service_type, proposed.meeting_id,
            proposed.status) == (volunteer.resident.id, 150, "志愿活动", mid, RecordStatus.PENDING)
    assert any("长者探访志愿活动" in t and "2.5小时" in t for t in volunteer.push_texts())
    assert balance(db, volunteer) == 0
    # once per activity, and staff verify it as any other record
    assert records.propose_for_activity(uow, volunteer.resident, db.get(Meeting, mid)) is None
    staff.say(f"通过 S{proposed.id}")
    assert balance(db, volunteer) == 150


def test_council_check_in_proposes_nothing(volunteer, uow, db):
    mid = make_meeting(uow, starts_at=uow.now + timedelta(hours=1))
    code = signups.sign_up(uow, mid, volunteer.resident).checkin_code
    admin.check_in(uow, STAFF, db.get(Meeting, mid), code)
    assert db.scalars(select(ServiceRecord)).all() == []
    assert db.scalar(select(Account.id).join(Resident, Resident.id == Account.owner_id)) is None


def test_erasing_a_person_drops_their_family_links_and_returns_offers(volunteer, elder, uow, db):
    fund(uow, volunteer, 120)
    family.declare(uow, volunteer.resident, elder.resident, "母亲")
    family.decide_link(uow, Actor.cli("t"), db.scalars(select(FamilyLink)).one(), True)
    assert "预留1小时" in volunteer.say("转赠 13700001111 1")
    assert "确定" in elder.say("注销") or "注销" in elder.last_reply
    elder.say("1")
    db.expire_all()
    assert db.scalars(select(FamilyLink)).all() == []
    assert db.scalars(select(Transfer)).one().status is TransferStatus.DECLINED
    assert balance(db, volunteer) == 120


def test_natural_words_for_confirming_and_giving(volunteer, elder, staff, uow, db):
    fund(uow, volunteer, 120)
    code = log(volunteer, who="13700001111", hours="1")
    # a guess never confirms: it shows what waits, with who and what
    reply = elder.say("我想确认一下")
    assert f"{code} 志愿者 上门探访 1小时" in reply and "属实请回复“确认”" in reply
    assert record(db, code).confirmed_at is None
    assert "没有登记家人" in volunteer.say("时间怎么转给我妈")
    family.decide_link(uow, Actor.cli("t"), family.declare(uow, volunteer.resident, elder.resident, "母亲"), True)
    assert "李婆婆（母亲）" in volunteer.say("我要把时间给家人") and "转赠 李婆婆 1" in volunteer.last_reply
    assert "预留1小时" in volunteer.say("转赠 我妈 1")
    assert "预留0.5小时" in volunteer.say("转赠 李婆婆 0.5")
    assert "没有找到您登记的家人“张三”" in volunteer.say("转赠 张三 1")


def test_a_mobile_number_typed_does_not_tell_a_strangers_name(volunteer, elder):
    reply = volunteer.say("家人 13700001111 母亲")
    assert "李婆婆" not in reply and "李**" in reply and "137****1111" in reply
    volunteer.say("记录服务")
    for answer in ("1", "昨天", "1", "13700001111", "陪老人聊天", "跳过"):
        summary = volunteer.say(answer)
    assert "李婆婆" not in summary and "李**（137****1111）" in summary and "内容：陪老人聊天" in summary


def test_what_each_side_sees_while_hours_wait(volunteer, elder, staff, uow, db):
    fund(uow, volunteer, 120)
    family.decide_link(uow, Actor.cli("t"), family.declare(uow, volunteer.resident, elder.resident, "母亲"), True)
    code = log(volunteer, who="13700001111", hours="1")
    volunteer.say("转赠 李婆婆 1")
    mine = volunteer.say("我的时间")
    assert "转赠待接受 -1小时" in mine and "兑换预扣" not in mine
    hers = elder.say("我的时间")
    assert "等您确认：1条服务" in hers and "家人转给您：1笔待接受" in hers
    assert "｜李婆婆" in staff.say("审核")  # who was served, by name, for staff
    elder.say("确认")
    staff.say(f"通过 {code}")
    assert "已经审核过了" in staff.say(f"通过 {code}")
