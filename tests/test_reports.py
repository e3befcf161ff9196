"""Reporting a problem by chat, following it up, and the grid worker's side (fast tier)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import (
    OutboxMessage,
    Report,
    ReportEvent,
    ReportPhoto,
    ResidentRole,
    ReturnVisit,
    Role,
    Status,
)

JINNING = (23.0437, 112.9168)


def code_of(reply: str) -> str:
    return re.search(r"BS\d{6}", reply).group(0)


def file_report(p, description="3栋楼道灯坏了，晚上很黑", where="3栋门口", photos=0,
                anyway: bool = False) -> str:
    """Walk the whole conversation and return the new report's code (`anyway`: offered a
    neighbour's report as +1, file a new one all the same)."""
    assert "描述" in p.say("报事")
    assert "照片" in p.say(description)
    for _ in range(photos):
        p.send_image()
    assert "位置" in p.say("好了")
    if isinstance(where, tuple):
        reply = p.send_location(*where, label="金宁社区党群服务中心")
    else:
        reply = p.say(where)
    assert "分类" in reply
    assert "请确认" in p.say("1")
    reply = p.say("1")
    if anyway:
        assert "+1" in reply
        reply = p.say("2")
    return code_of(reply)


@pytest.fixture
def worker(chat):
    """The grid worker of 金宁第一网格 (buildings 1-4栋), following the account."""
    return grid_worker(chat, 1)


def grid_worker(chat, n: int):
    w = chat.persona("网格员", openid=f"demo-gridworker-jinning-{n}")
    w.follow()
    w.say("取消")
    return w


def report_row(db, code) -> Report:
    db.expire_all()
    return db.scalar(select(Report).where(Report.code == code))


@pytest.fixture
def registered(chat):
    return chat.registered


@pytest.fixture
def db(fast_db):
    return fast_db


def test_report_is_filed_routed_and_acknowledged(registered, worker, db):
    alice = registered("alice")
    assert "描述" in alice.say("報事")  # traditional characters work too
    alice.say("3栋楼道灯坏了，晚上很黑")
    alice.send_image()
    alice.send_image()
    alice.say("好了")
    category = alice.say("3栋门口")
    assert "【公共设施维修】" in category  # suggested from 灯/坏了
    summary = alice.say("1")
    assert "照片：2张" in summary and "3栋门口" in summary
    done = alice.say("1")
    code = code_of(done)
    # A 小事 of 3栋 (no 楼道长 yet): its grid worker, 4 working hours from Wednesday 10:00.
    assert "金宁第一网格 网格员负责，11月18日 14:00前响应" in done
    assert "138" not in done  # a title, never a phone number
    report = report_row(db, code)
    assert report.status is Status.SUBMITTED and report.tier.value == "small"
    assert len(db.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report.id)).all()) == 2
    assert report.address == "3栋门口" and report.public_id and report.public_id != code
    assigned = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "report_assigned")).all()
    assert [o.resident_id for o in assigned] == [report.assignee_id]


def test_photo_or_location_starts_a_report(registered, db):
    p = registered()
    assert "已收到第1张照片" in p.send_image() and "描述" in p.last_reply
    p.say("取消")
    reply = p.send_location(*JINNING, label="金宁社区党群服务中心")
    assert "位置：金宁社区党群服务中心" in reply and "描述" in reply


def test_location_outside_every_community(registered):
    p = registered()
    p.say("报事")
    p.say("垃圾堆放很久没人清理")
    p.say("跳过")
    assert "不在本平台服务的社区范围内" in p.send_location(39.9042, 116.4074, "北京")
    assert "分类" in p.send_location(*JINNING)


@pytest.mark.parametrize("bad, complaint", [("   ", "描述不能为空"), ("长" * 501, "500字以内")])
def test_bad_descriptions(registered, bad, complaint):
    p = registered()
    p.say("报事")
    assert complaint in p.say(bad)
    assert "照片" in p.say("垃圾没人清理")


def test_tenth_photo_is_refused(registered):
    p = registered()
    p.say("报事")
    p.say("垃圾没人清理")
    for _ in range(9):
        p.send_image()
    assert "最多只能发送9张" in p.send_image()


def test_image_when_text_expected_and_text_when_image_expected(registered):
    p = registered()
    p.say("报事")
    reply = p.send_image()
    assert "已收到第1张照片" in reply and "描述" in reply
    p.say("井盖松动")
    assert "已补充" in p.say("在5栋后面")  # not a photo, not 好了: kept with the description
    p.say("好了")
    p.say("5栋")
    assert "井盖松动；在5栋后面" in p.say("1")


def test_voice_description_and_corrections(registered, db):
    p = registered()
    p.say("报事")
    assert "照片" in p.voice("小区广场舞太吵了")
    p.say("跳过")
    assert "【噪音扰民】" in p.say("跳过")
    p.say("1")
    assert "描述" in p.say("改 描述")
    summary = p.say("晚上十点后广场舞音响太吵")
    assert "请确认" in summary and "晚上十点后" in summary
    code = code_of(p.say("1"))
    assert report_row(db, code).description == "晚上十点后广场舞音响太吵"


def test_double_tap_confirm_files_one_report(registered, db):
    p = registered()
    code = file_report(p)
    assert "无需重复提交" in p.say("1") and code in p.last_reply
    db.expire_all()
    assert len(db.scalars(select(Report)).all()) == 1


def test_the_menu_after_a_filed_report_is_the_menu(registered):
    """The task is done: 菜单 shows the menu (not "您正在：反映问题"), and its numbers count."""
    p = registered()
    file_report(p)
    menu = p.say("菜单")
    assert "请回复数字选择" in menu and "您正在" not in menu
    assert "无需重复提交" not in p.say("1")


@pytest.mark.parametrize("polite", ["唔该晒", "谢谢你们尽快处理"])
def test_thanks_while_reporting_is_not_added_to_the_description(registered, db, polite):
    p = registered()
    p.say("报事")
    p.say("3栋楼道灯坏了")
    p.say("好了")
    p.say("3栋门口")
    p.say("1")
    reply = p.say(polite)
    assert "已补充" not in reply and "回复1提交" in reply
    assert "已补充" in p.say("晚上很黑")  # a detail of the problem still is
    code = code_of(p.say("1"))
    assert report_row(db, code).description == "3栋楼道灯坏了；晚上很黑"


def test_private_matter_gets_advice(registered, db):
    p = registered()
    p.say("报事")
    p.say("和楼上邻居有纠纷")
    p.say("跳过")
    assert "【邻里纠纷】" in p.say("跳过")
    p.say("1")
    done = p.say("1")
    assert "私事" in done and "人民调解" in done


def test_my_reports_and_query_with_timeline(registered, worker):
    p = registered()
    code = file_report(p)
    assert code in p.say("我的报事") and "已提交" in p.last_reply
    worker.say(f"接单 {code}")
    detail = p.say(f"查询{code}")
    assert "已受理" in detail and "金宁第一网格 网格员" in detail and "3栋楼道灯坏了" in detail


def test_unknown_and_malformed_codes(registered):
    p = registered()
    assert "没有找到编号" in p.say("查询 BS999999")
    assert "例如" in p.say("查询")
    for malformed in ("查询 BS12", "查询 hello", "查询一下我的问题"):  # not a code: not the command
        assert "没有找到编号" not in p.say(malformed)


def test_someone_elses_code_looks_unknown(registered):
    alice, bob = registered("alice"), registered("bob")
    code = file_report(alice)
    answer = bob.say(f"查询 {code}")
    assert answer == bob.say("查询 BS999999").replace("BS999999", code)
    assert "楼道灯" not in answer


def test_lifecycle_feedback_and_rating(registered, worker, db):
    p = registered()
    code = file_report(p)
    assert "已接单" in worker.say(f"接单 {code}")
    assert "已记录进展" in worker.say(f"进展 {code} 已联系电工")
    assert "结果照片" in worker.say(f"办结 {code} 灯已更换")
    assert "第1张" in worker.send_image()
    assert "已办结" in worker.say("好了")
    report = report_row(db, code)
    assert report.status is Status.RESOLVED
    photos = db.scalars(select(ReportPhoto.purpose).where(ReportPhoto.report_id == report.id)).all()
    assert photos == ["result"]
    kinds = db.scalars(select(OutboxMessage.payload).where(
        OutboxMessage.resident_id == report.resident_id, OutboxMessage.kind == "report_status")).all()
    assert len(kinds) == 3 and "解决了吗" in kinds[-1]["text"]
    assert "打分" in p.say("已解决")
    assert "评价" in p.say("5")
    assert "已关闭" in p.say("师傅很负责")
    report = report_row(db, code)
    assert (report.status, report.rating, report.rating_comment) == (Status.CLOSED, 5, "师傅很负责")


def test_a_worker_asks_for_their_orders_and_finishes_one_in_their_own_words(registered, worker, db):
    assert "没有待办的工单" in worker.say("我的工单")
    first, second = file_report(registered("alice")), file_report(registered("bob"), description="5栋垃圾没人清")
    orders = worker.say("有什么工单")
    assert first in orders and second in orders and "前办结" in orders
    assert orders.index(first) < orders.index(second)  # due soonest first
    worker.say(f"接单 {first}")
    assert "已办结" in worker.say(f"完成 {first} 灯已换好") and "结果照片" in worker.last_reply  # closed at once
    assert report_row(db, first).status is Status.RESOLVED
    assert "已办结" in worker.say("好了")
    assert first not in worker.say("待办") and second in worker.last_reply
    # 完成 alone is still the photo step's "done", never a 办结 without a code
    assert "工单" not in (worker.say("完成") or "")


def test_not_solved_reopens_and_escalates(registered, worker, db):
    p = registered()
    code = file_report(p)
    worker.say(f"接单 {code}")
    worker.say(f"办结 {code} 已处理")
    worker.say("跳过")
    assert "重新打开" in p.say("未解决")
    report = report_row(db, code)
    # Escalated to staff, with a fresh clock and a return visit for staff to make.
    assert report.status is Status.IN_PROGRESS and report.escalation == 0
    assert report.next_check_at is not None and report.resolve_due_at > report.accepted_at
    assert any("已上报社区" in (e.note or "") for e in db.scalars(
        select(ReportEvent).where(ReportEvent.report_id == report.id)))
    assert [v.reason for v in db.scalars(select(ReturnVisit))] == ["not_solved"]
    assert "没有待确认" in p.say("已解决")


def test_only_the_assignee_may_act(registered, worker, chat, db):
    p = registered()
    code = file_report(p)
    other = grid_worker(chat, 2)  # 第二网格: not theirs
    assert "没有权限" in other.say(f"接单 {code}")
    p.say(f"办结 {code} 我自己修好了")  # a resident sending 办结: not a command for them
    assert report_row(db, code).status is Status.SUBMITTED
    assert "没有找到编号" in worker.say("接单 BS999999")
    assert "请写明处理情况" in worker.say(f"办结 {code}")


def test_transfer_to_another_grid_and_to_staff(registered, worker, chat, db):
    p = registered()
    code = file_report(p)
    assert "金宁第二网格 网格员" in worker.say(f"转派 {code} 金宁第二网格")
    report = report_row(db, code)
    assert report.assignee_title == "金宁第二网格 网格员"
    second = grid_worker(chat, 2)
    assert "已受理" not in second.say(f"转派 {code} 火星") and "没有找到" in second.last_reply
    assert "金宁社区工作人员" in second.say(f"转派 {code} 社区")
    assert report_row(db, code).assignee_id is None


@pytest.fixture
def staffer(registered, db):
    person = registered("staffer")
    db.add(ResidentRole(resident_id=person.resident.id, role=Role.STAFF, granted_by="test"))
    db.flush()
    return person


def test_staff_reject_refer_merge_and_retier(registered, staffer, worker, db):
    alice, bob = registered("alice"), registered("bob")
    first = file_report(alice)
    bob.say("报事")
    bob.say("楼道灯还是不亮")
    bob.say("好了")
    bob.say("5栋")
    bob.say("1")
    second = code_of(bob.say("1"))
    alice.say(f"改级 {first} 大事")
    assert report_row(db, first).tier.value != "big"
    assert "大事" in staffer.say(f"改级 {first} 大事 涉及整栋楼的线路改造")
    assert report_row(db, first).tier.value == "big"
    assert "没有权限" in worker.say(f"合并 {second} {first}")  # 5栋 is not in worker's grid
    assert "已合并" in staffer.say(f"合并 {second} {first}")
    merged = report_row(db, second)
    assert merged.status is Status.DUPLICATE and merged.duplicate_of_id == report_row(db, first).id
    assert first in bob.say("我的报事")  # bob now follows the original
    assert "未予受理" in staffer.say(f"驳回 {first} 不属于社区管理范围")
    third = file_report(registered("carol"), description="和邻居有纠纷", where="跳过")
    assert "已转介" in staffer.say(f"转介 {third} 已转社区人民调解委员会")
    assert report_row(db, third).status is Status.REFERRED
    assert "不能这样操作" in staffer.say(f"驳回 {third} 再驳回")


@pytest.mark.parametrize("said", ["楼道灯坏咗好几日啦",  # 坏咗 is 坏了
                                  "三栋楼道灯又唔亮啦"])  # 唔亮 is 不亮, with 又 between
def test_cantonese_words_suggest_the_category(registered, said):
    p = registered()
    p.say("报事")
    p.say(said)
    p.say("跳过")
    assert "【公共设施维修】" in p.say("3栋门口")
