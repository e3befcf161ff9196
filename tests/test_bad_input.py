"""Whatever a person sends, they get a kind answer with a next step — never 系统繁忙 — and
nothing is stored that does not fit (fast tier, SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import PlatformEvent, Report, ReportPhoto, ResidentRole, Role
from tests.meeting_helpers import make_meeting
from tests.test_reports import file_report

BUSY = "系统繁忙"
HUGE = "9" * 5000
TWENTY = "9" * 20


@pytest.fixture
def person(chat):
    return chat.registered("alice", mobile="13812345678")


@pytest.fixture
def staff(chat, fast_db):
    person = chat.registered("staff", mobile="13900000000")
    for role in (Role.STAFF, Role.VOLUNTEER):
        fast_db.add(ResidentRole(resident_id=person.resident.id, role=role, granted_by="t"))
    fast_db.flush()
    return person


def kind(reply: str | None) -> str:
    assert reply and BUSY not in reply, reply
    return reply


@pytest.mark.parametrize("words", ["፩", "²", "١", HUGE, "1" * 30, "-1", "0", "一百万"])
def test_numbers_nobody_can_read_in_menus_and_lists(person, uow, words):
    make_meeting(uow)
    for said in (words, f"报名 {words}", f"兑换 {words}", f"取消报名 {words}", f"转赠 13800000000 {words}",
                 f"捐赠 {words}"):
        kind(person.say(said))


@pytest.mark.parametrize("words", ["፩", HUGE, "99"])
def test_numbers_at_numbered_steps(chat, person, words):
    newcomer = chat.persona()
    newcomer.follow()
    assert "没有找到这个社区" in kind(newcomer.say(words))
    person.say("报事")
    person.say("路灯坏了")
    person.say("跳过")
    person.say("3栋")
    assert "列表中的数字" in kind(person.say(words))  # the category step


@pytest.mark.parametrize("words", ["፩", HUGE])
def test_numbers_at_the_service_type_step(staff, words):
    staff.say("记录服务")
    assert "列表中的数字" in kind(staff.say(words))


@pytest.mark.parametrize("command", ["确认", "不确认", "兑现", "取消兑换", "通过", "驳回", "签到"])
def test_twenty_digit_record_ids(staff, command):
    for code in (f"S{TWENTY}", f"R{TWENTY}", f"A{TWENTY}", TWENTY, f"S{HUGE}"):
        kind(staff.say(f"{command} {code} 原因"))


@pytest.mark.parametrize("lat, lng", [("1e999", "112.9"), ("abc", "112.9"), ("", ""),
                                      ("23.04", "NaN"), ("-91", "0")])
def test_locations_nobody_can_read(person, lat, lng):
    assert "没能读到这个位置" in kind(person.send("raw", fields={
        "MsgType": "location", "MsgId": "51001", "Location_X": lat, "Location_Y": lng,
        "Scale": "15", "Label": "x"}))
    person.say("取消")
    person.say("报事")
    person.say("路灯坏了")
    assert "没能读到这个位置" in kind(person.send("raw", fields={
        "MsgType": "location", "MsgId": "51002", "Location_Y": lng}))


def test_a_photo_without_media_id_is_asked_again_and_never_stored(person, fast_db):
    person.say("报事")
    assert "没能收到" in kind(person.send_image(media_id=""))
    person.say("路灯坏了")
    assert "没能收到" in kind(person.send_image(media_id=""))
    person.send_image()
    person.say("好了")
    person.say("3栋")
    person.say("1")
    assert "提交成功" in kind(person.say("1"))
    photos = fast_db.scalars(select(ReportPhoto.media_id)).all()
    assert len(photos) == 1 and all(photos)


def test_over_long_platform_fields_are_kept_within_their_columns(person, fast_db):
    """What the platform sends too long: the label is cut to fit, a media id or picture URL
    that does not fit is not a usable one (asked again), event fields are cut."""
    person.say("报事")
    person.say("井盖松动")
    person.send("raw", fields={"MsgType": "image", "MsgId": "52001", "MediaId": "m" * 129,
                               "PicUrl": "http://x/" + "p" * 600})
    person.send("raw", fields={"MsgType": "image", "MsgId": "52002", "MediaId": "ok-media",
                               "PicUrl": "http://x/" + "p" * 600})
    reply = kind(person.send("raw", fields={"MsgType": "location", "MsgId": "52003",
                                            "Location_X": "23.0437", "Location_Y": "112.9168",
                                            "Scale": "15", "Label": "标" * 300}))
    assert "分类" in reply
    person.say("1")
    assert "提交成功" in kind(person.say("1"))
    report = fast_db.scalar(select(Report))
    assert len(report.address) <= 128
    [photo] = fast_db.scalars(select(ReportPhoto)).all()
    assert photo.media_id == "ok-media" and photo.pic_url is None
    person.send("raw", fields={"MsgType": "event", "Event": "MASSSENDJOBFINISH",
                               "MsgID": "7" * 100, "Status": "s" * 100})
    event = fast_db.scalar(select(PlatformEvent))
    assert len(event.msg_id) <= 64 and len(event.status) <= 64


def test_a_command_word_at_the_start_of_a_sentence_is_not_that_command(person, staff):
    code = file_report(person)
    for sentence in ("调整一下我的手机号", "通过什么方式联系社区", "进展怎么样了", "确认一下我报名了没有",
                     "兑换什么", "查询一下我的问题", "驳回是什么意思"):
        reply = kind(person.say(sentence))
        assert "没有权限" not in reply and "没有找到编号" not in reply, sentence
    person.say("取消")  # "调整一下我的手机号" opened the phone-number step
    # A staff command typed by a resident is read as what they likely meant: that report.
    reply = person.say(f"进展 {code} 我来修")
    assert "没有权限" not in reply and code in reply and "我来修" not in reply


def test_the_duplicate_offer_leaves_on_a_command(chat, person):
    file_report(person, where="3栋")
    bob = chat.registered("bob")
    bob.say("报事")
    bob.say("3栋楼道灯也坏了")
    bob.say("好了")
    bob.say("3栋")
    bob.say("1")
    assert "+1" in bob.say("1")
    assert "我的报名" in kind(bob.say("我的报名")) or "报名" in bob.last_reply
    assert "请回复 1 或 2" not in bob.last_reply


def test_the_duplicate_offer_is_never_ones_own_nor_another_communitys(chat, person):
    file_report(person, where="3栋")
    person.say("报事")
    person.say("3栋楼道灯又坏了")
    person.say("好了")
    person.say("3栋")
    person.say("1")
    assert "提交成功" in person.say("1")  # my own report is not offered back to me
    far = chat.registered("far", scene="xianhu", address="仙湖花园1座")
    far.say("报事")
    far.say("楼道灯坏了")
    far.say("好了")
    far.send_location(23.0437, 112.9168)  # a point in 金宁, from a 仙湖 resident
    far.say("1")
    reply = far.say("1")
    assert "+1" not in reply
