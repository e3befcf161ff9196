"""五步议事 end to end in the chat and the domain: a topic raised and supported, opinions
collected from its audience, put on a 四方联席会议, decided into items with owners that are
reminded and finished (resolving the report it came from), and publicised (fast tier)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.deliberation import decisions, topics
from domain.errors import Refused
from models import (
    AuditLog,
    Broadcast,
    DecisionItem,
    Meeting,
    MeetingType,
    Opinion,
    OutboxMessage,
    Report,
    Status,
    Topic,
    TopicStatus,
    TopicSupport,
)
from scheduler import deliberation_jobs
from tests.meeting_helpers import STAFF, make_meeting
from tests.test_reports import file_report

TOPIC = "3栋想加装电梯，希望社区组织大家商量费用怎么分摊"


def topic_of(db, code) -> Topic:
    db.expire_all()
    return db.scalar(select(Topic).where(Topic.code == code))


def pushed(p, kind=None) -> list[str]:
    return [m.payload["text"] for m in p.pushes(kind)]


def test_a_resident_raises_a_topic_in_words_and_others_support_it(chat, fast_db):
    alice, bob, carol = (chat.registered(n) for n in ("alice", "bob", "carol"))
    assert "请说说您的建议" in alice.say("我有建议")
    assert "至少写6个字" in alice.say("装电梯")  # 3 characters: asked again, nothing written
    assert fast_db.scalars(select(Topic)).all() == []
    assert "最多500个字" in alice.say("电" * 5000)
    reply = alice.say(TOPIC)
    code = re.search(r"YT\d+", reply).group(0)
    assert "附议" in reply and topic_of(fast_db, code).proposer_id == alice.resident.id
    assert "自己提的" in alice.say(f"附议 {code}")
    assert "共 1 人支持" in bob.say(f"附议 {code}")
    assert "已经附议过" in bob.say(f"附议 {code}")
    assert "共 2 人支持" in carol.say(f"附议 {code}")
    assert topic_of(fast_db, code).support_count == 2
    assert len(fast_db.scalars(select(TopicSupport)).all()) == 2
    listing = bob.say("议题")
    assert code in listing and "2人附议" in listing
    far = chat.registered("dan", scene="xianhu", address="仙湖花园1座")
    assert "没有找到" in far.say(f"附议 {code}")  # another community's topic
    assert "已经附议过" in bob.say(f"附议 {int(code[2:])}")  # the bare number works too


def test_opinions_one_per_resident_from_the_audience_until_the_deadline(chat, uow, clock, fast_db):
    alice, bob = chat.registered("alice"), chat.registered("bob", address="5栋")
    code = re.search(r"YT\d+", alice.say(f"我有建议 {TOPIC}")).group(0)
    topic = topic_of(fast_db, code)
    assert "没有在征集" in alice.say(f"意见 {code} 同意")
    building = alice.resident.building_id
    topics.open_opinions(uow, STAFF, topic, {"type": "building", "id": building}, days=3)
    assert fast_db.scalar(select(Broadcast).where(Broadcast.title.contains("征集意见")))
    assert "已记录" in alice.say(f"意见 {code} 同意，希望按楼层分摊")
    assert "改成最新" in alice.say(f"意见 {code} 反对，费用太高")
    [mine] = fast_db.scalars(select(Opinion)).all()
    assert mine.stance == "disagree" and "费用太高" in mine.text
    assert "只征集相关楼栋" in bob.say(f"意见 {code} 同意")  # 5栋 is not in the audience
    assert "请在编号后写上" in alice.say(f"意见 {code}")
    meeting = fast_db.get(Meeting, make_meeting(uow, type=MeetingType.JOINT))
    decisions.schedule(uow, STAFF, topic, meeting)  # on the agenda: collection runs to its deadline
    assert "改成最新" in alice.say(f"意见 {code} 反对，费用太高")
    clock.advance(days=3, minutes=1)
    assert "已经结束" in alice.say(f"意见 {code} 还是同意")
    assert topics.opinion_summary(uow, topic) == {"disagree": 1}


def test_five_steps_from_a_report_to_publicity(chat, uow, clock, rt, fast_db):
    alice, owner = chat.registered("alice"), chat.registered("wang", address="3栋1单元")
    bob = chat.registered("bob")
    report_code = file_report(alice, description="3栋想加装电梯，希望社区组织大家商量", where="3栋")
    report = fast_db.scalar(select(Report).where(Report.code == report_code))
    assert report.tier.value == "big"
    topic = topics.from_report(uow, STAFF, report)  # 大事 → 议题, its reporter the proposer
    with pytest.raises(Refused):
        topics.from_report(uow, STAFF, report)
    topics.support(uow, bob.resident, topic)
    topics.open_opinions(uow, STAFF, topic, days=2)
    bob.say(f"意见 {topic.code} 同意")
    meeting = fast_db.get(Meeting, make_meeting(uow, type=MeetingType.JOINT, title="3栋加装电梯四方联席会议"))
    decisions.schedule(uow, STAFF, topic, meeting)
    assert any("四方联席会议" in t for t in pushed(bob, "topic_update"))  # supporters told
    assert any(item.get("topic_id") == topic.id for item in meeting.agenda)
    today = uow.now.astimezone(uow.config.tz).date()
    with pytest.raises(Refused):
        decisions.decide(uow, STAFF, topic, [{"text": "报方案", "owner": "业委会", "due_on": today - timedelta(days=1)}])
    items = decisions.decide(uow, STAFF, topic, [
        {"text": "报送加装电梯方案", "owner": "业委会", "owner_id": owner.resident.id,
         "due_on": today + timedelta(days=5)},
        {"text": "公示费用分摊表", "owner": "物业", "due_on": today + timedelta(days=10)}])
    assert topic_of(fast_db, topic.code).status is TopicStatus.DECIDED
    assert any("报送加装电梯方案" in t for t in pushed(alice, "topic_update"))
    assert any("由您负责" in t for t in pushed(owner, "decision_item"))
    clock.advance(days=3)  # two days before the due date: reminded, once
    assert deliberation_jobs.remind_item_owners(rt) == 1
    assert deliberation_jobs.remind_item_owners(rt) == 1  # same key: still one row
    assert len([t for t in pushed(owner, "decision_item") if "到期" in t]) == 1
    clock.advance(days=3)  # overdue
    deliberation_jobs.remind_item_owners(rt)
    assert any("已过期限" in t for t in pushed(owner, "decision_item"))
    decisions.note_progress(uow, STAFF, items[0], "方案初稿已完成")
    decisions.complete(uow, STAFF, items[0], "方案已报街道")
    fast_db.expire_all()
    assert fast_db.get(Report, report.id).status is not Status.RESOLVED  # one item still open
    with pytest.raises(Refused):
        decisions.complete(uow, STAFF, items[0], "again")
    decisions.complete(uow, STAFF, items[1], "分摊表已张贴")
    fast_db.expire_all()
    assert fast_db.get(Report, report.id).status is Status.RESOLVED  # its reporter is asked
    assert any("已全部落实" in t for t in pushed(alice))
    decisions.publicise(uow, STAFF, fast_db.get(Topic, topic.id))
    notice = fast_db.scalar(select(Broadcast).where(Broadcast.title.contains("议事结果公示")))
    assert notice and "报送加装电梯方案" in notice.text and "已完成" in notice.text
    assert fast_db.get(Topic, topic.id).status is TopicStatus.PUBLICISED
    actions = [a.action for a in fast_db.scalars(select(AuditLog).where(AuditLog.action.like("topic_%")))]
    assert actions == ["topic_from_report", "topic_open_opinions", "topic_schedule", "topic_decide",
                       "topic_publicise"]


def test_declined_topics_tell_proposer_and_supporters(chat, uow, fast_db):
    alice, bob = chat.registered("alice"), chat.registered("bob")
    code = re.search(r"YT\d+", alice.say(f"我有建议 {TOPIC}")).group(0)
    bob.say(f"附议 {code}")
    topic = topic_of(fast_db, code)
    with pytest.raises(Refused):
        topics.decline(uow, STAFF, topic, "  ")
    topics.decline(uow, STAFF, topic, "已纳入街道统一改造计划")
    for person in (alice, bob):
        assert any("已纳入街道统一改造计划" in t for t in pushed(person, "topic_update"))
    assert "不能这样操作" in chat.registered("carol").say(f"附议 {code}")
    assert fast_db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "topic_update")).all()
    assert fast_db.scalars(select(DecisionItem)).all() == []





def test_console_runs_the_steps_and_the_board_shows_the_outcome(chat, app, uow, fast_db):
    from tests.console_helpers import Console, add_accounts_to

    add_accounts_to(fast_db)
    alice = chat.registered("alice")
    code = re.search(r"YT\d+", alice.say(f"我有建议 {TOPIC}")).group(0)
    topic = topic_of(fast_db, code)
    desk = Console(app.test_client())
    desk.login("t-staff")
    assert code in desk.get("/console/topics").text
    desk.post(f"/console/topics/{topic.id}/opinions", {"audience": "community", "days": "5"})
    assert topic_of(fast_db, code).status is TopicStatus.COLLECTING
    alice.say(f"意见 {code} 同意，越快越好")
    page = desk.get(f"/console/topics/{topic.id}").text
    assert "越快越好" in page and "同意 1" in page
    bad = desk.follow(desk.post(f"/console/topics/{topic.id}/decide", {"items": "报方案｜业委会｜明天"}))
    assert "写清事项" in bad and fast_db.scalars(select(DecisionItem)).all() == []
    due = (uow.now + timedelta(days=7)).astimezone(uow.config.tz).date().isoformat()
    desk.post(f"/console/topics/{topic.id}/decide", {"items": f"报送加装电梯方案｜业委会｜{due}\n"
                                                             f"公示费用分摊表｜物业｜{due}"})
    items = fast_db.scalars(select(DecisionItem).order_by(DecisionItem.id)).all()
    assert [i.owner for i in items] == ["业委会", "物业"]
    desk.post(f"/console/topics/items/{items[0].id}", {"note": "方案已报街道", "done": "1"})
    desk.post(f"/console/topics/{topic.id}/publicise")
    board = app.test_client().get(f"/board/{topic.community_id}").text  # public: no sign-in
    assert code in board and "报送加装电梯方案" in board and "已完成" in board and "待落实" in board
    assert "alice" not in board and "越快越好" not in board  # never who said what


def test_a_proposal_in_everyday_words_is_offered_as_a_topic(chat, fast_db):
    lin = chat.registered("lin")
    offer = lin.say("我哋3栋想加装电梯，希望社区组织大家商量")  # Cantonese, no command
    assert "提为社区议题" in offer
    reply = lin.say("系")
    code = re.search(r"YT\d+", reply).group(0)
    assert "加装电梯" in topic_of(fast_db, code).body
    assert "没有提交" in (lin.say("3栋想加装电梯，大家商量一下") and lin.say("2"))
    assert len(fast_db.scalars(select(Topic)).all()) == 1


def test_the_deliberation_ledger_and_overdue_items_on_the_dashboard(chat, app, uow, clock, fast_db):
    import csv
    import io

    from tests.console_helpers import Console, add_accounts_to

    add_accounts_to(fast_db)
    alice, bob = chat.registered("alice"), chat.registered("bob")
    topic = topics.propose(uow, alice.resident, TOPIC)
    topics.support(uow, bob.resident, topic)
    topics.open_opinions(uow, STAFF, topic, days=2)
    bob.say(f"意见 {topic.code} 同意")
    today = uow.now.astimezone(uow.config.tz).date()
    decisions.decide(uow, STAFF, topic, [{"text": "报送加装电梯方案", "owner": "业委会",
                                          "due_on": today + timedelta(days=1)}])
    desk = Console(app.test_client())
    desk.login("t-staff")
    assert '<b id="items-overdue">0</b>' in desk.get("/console/dashboard").text
    clock.advance(days=2)
    assert '<b id="items-overdue">1</b>' in desk.get("/console/dashboard").text
    month = uow.now.astimezone(uow.config.tz).strftime("%Y-%m")
    sheet = desk.get(f"/console/exports/topics.csv?month={month}").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(sheet)))
    header = next(r for r in rows if r and r[0] == "序号")
    line = next(r for r in rows if topic.code in r)
    assert line[header.index("附议人数")] == "1" and line[header.index("意见条数")] == "1"
    assert "报送加装电梯方案（业委会" in line[header.index("议定事项")]
    assert line[header.index("落实进度")] == "0/1" and line[header.index("状态")] == "已议定"


def test_staff_turn_a_focal_issue_into_a_topic(chat, app, fast_db):
    from tests.console_helpers import Console, add_accounts_to

    add_accounts_to(fast_db)
    file_report(chat.registered("alice"), description="3栋门口垃圾堆了三天没人清")
    file_report(chat.registered("bob"), description="5栋后面垃圾桶满了很臭", where="5栋")
    desk = Console(app.test_client())
    desk.login("t-staff")
    page = desk.get("/console/topics").text
    assert "本周焦点议题" in page and "环境卫生（2件）" in page
    assert desk.post("/console/topics/focal", {"category": "不存在的类别"}).status_code == 400
    desk.post("/console/topics/focal", {"category": "环境卫生"})
    [topic] = fast_db.scalars(select(Topic)).all()
    assert "环境卫生" in topic.body and "2件" in topic.body and topic.proposer_id is None


def test_an_owner_named_by_mobile_is_reminded_and_shows_as_a_resident_in_public(chat, app, uow, fast_db):
    from tests.console_helpers import Console, add_accounts_to

    add_accounts_to(fast_db)
    wong = chat.registered("wong", mobile="13800002222", name="黄姨")
    topic = topics.propose(uow, wong.resident, TOPIC)
    desk = Console(app.test_client())
    desk.login("t-staff")
    due = (uow.now + timedelta(days=7)).astimezone(uow.config.tz).strftime("%Y/%m/%d")
    early = desk.follow(desk.post(f"/console/topics/{topic.id}/decide", {"items": f"写公告｜社区两委｜{due}"}))
    assert "还没有征集意见或上会商议" in early and fast_db.scalars(select(DecisionItem)).all() == []
    topics.open_opinions(uow, STAFF, topic, days=2)
    bad = desk.follow(desk.post(f"/console/topics/{topic.id}/decide", {"items": f"写公告｜社区两委｜{due}\n报方案"}))
    assert "第2条" in bad and f"写公告｜社区两委｜{due}\n报方案</textarea>" in bad  # what was typed stays
    desk.post(f"/console/topics/{topic.id}/decide", {"items": f"征求一楼住户意见｜黄姨 13800002222｜{due}\n"
                                                             f"写公告｜社区两委｜{due}"})
    items = fast_db.scalars(select(DecisionItem).order_by(DecisionItem.id)).all()
    assert items[0].owner_id == wong.resident.id and items[0].owner == "黄姨" and items[1].owner_id is None
    assert any("由您负责" in t for t in pushed(wong, "decision_item"))
    board = app.test_client().get(f"/board/{topic.community_id}").text
    assert "征求一楼住户意见（居民" in board and "黄姨" not in board and "写公告（社区两委" in board


def test_the_opinion_notice_of_a_long_topic_goes_out_and_links_the_topic_page(chat, uow, fast_db):
    from models import Broadcast

    alice = chat.registered("alice")
    topic = topics.propose(uow, alice.resident, "加装电梯" + "，大家的意见很多" * 60)
    topics.open_opinions(uow, STAFF, topic, days=2)
    [notice] = fast_db.scalars(select(Broadcast)).all()
    assert f"/topics/{topic.code}" in notice.text and len(notice.text) <= 600
