"""One topic through all five steps of 五步议事 through the simulator over HTTP: raised from a
resident's report, supported, opinions collected, a 四方联席会议 with RSVPs and a quorum, a vote
with a deadline, two decision items with owners, a reminder, completion that resolves the
report, and the 公示 reaching the audience's phones."""
from __future__ import annotations

import re
import time
from datetime import timedelta

from sqlalchemy import select

from domain.deliberation import decisions, topics, votes
from models import DecisionItem, Meeting, MeetingType, Party, Report, Resident, Status, Topic, Vote
from scheduler import broadcasts, deliberation_jobs
from tests.meeting_helpers import STAFF, make_meeting_committed
from tests.test_reminders import rt  # noqa: F401 - shared fixture


def texts(persona) -> str:
    return "\n".join(m.get("text") or str(m) for m in persona.pushes())


def deliver(rt) -> None:  # noqa: F811
    broadcasts.start_due(rt)
    rt.dispatcher.run(budget_seconds=5)


def test_five_steps_through_the_simulator(sim, registered, rt, config, db):  # noqa: F811
    lin, wu, he, zhou = (registered(n) for n in ("林姨", "吴叔", "何生", "周太"))
    lin.say("报事")
    lin.say("3栋想加装电梯，希望社区组织大家商量费用")
    lin.say("跳过")
    lin.say("3栋")
    lin.say("1")
    code = re.search(r"BS\d+", lin.say("1")).group(0)
    with rt.unit() as uow:
        report = uow.session.scalar(select(Report).where(Report.code == code))
        topic_code = topics.from_report(uow, STAFF, report).code  # 1 提出: the resident's 大事
    assert "共 1 人支持" in wu.say(f"附议 {topic_code}")
    assert "共 2 人支持" in he.say(f"附议 {topic_code}")
    assert "自己提的" in lin.say(f"附议 {topic_code}")
    with rt.unit() as uow:  # 2 征集意见
        topics.open_opinions(uow, STAFF, uow.session.scalar(select(Topic).where(Topic.code == topic_code)), days=3)
    assert "已记录" in wu.say(f"意见 {topic_code} 同意，低层也要出一点")
    assert "改成最新" in wu.say(f"意见 {topic_code} 同意，按楼层分摊")
    meeting_id = make_meeting_committed(config, type=MeetingType.JOINT, title="3栋电梯四方联席会议")
    with rt.unit() as uow:  # 3 议事: four parties invited
        topic = uow.session.scalar(select(Topic).where(Topic.code == topic_code))
        meeting = uow.session.get(Meeting, meeting_id)
        decisions.schedule(uow, STAFF, topic, meeting)
        people = {p.openid: uow.session.scalar(select(Resident).where(Resident.openid == p.openid))
                  for p in (lin, wu, he, zhou)}
        for persona, party in zip((lin, wu, he, zhou), (Party.RESIDENTS, Party.OWNERS, Party.PROPERTY,
                                                        Party.COMMUNITY)):
            votes.invite(uow, STAFF, meeting, people[persona.openid], party)
    deliver(rt)
    assert f"参加 {meeting_id}" in texts(wu)
    for persona in (lin, wu, he):
        assert "已登记您参加" in persona.say(f"参加 {meeting_id}")
    assert "不参加" in zhou.say(f"不参加 {meeting_id}")
    with rt.unit() as uow:
        assert votes.attendance(uow, uow.session.get(Meeting, meeting_id))["met"]  # 3 of 4 ≥ 2/3
        # The residents decide it by household (each of these four is one home).
        vote_code = votes.open_vote(uow, STAFF, uow.session.scalar(select(Topic).where(Topic.code == topic_code)),
                                    question="是否按楼层分摊加装电梯费用", options=["同意", "反对"],
                                    electorate="household", closes_at=uow.now + timedelta(seconds=3)).code
    assert "已记录您的投票" in lin.say(f"投票 {vote_code} 1")
    assert "已经投过票" in lin.say(f"投票 {vote_code} 2")
    wu.say(f"投票 {vote_code} 1")
    he.say(f"投票 {vote_code} 2")
    time.sleep(3.2)
    assert "已经截止" in zhou.say(f"投票 {vote_code} 1")
    assert deliberation_jobs.close_votes(rt) == 1
    db.rollback()
    assert db.scalar(select(Vote.result).where(Vote.code == vote_code))["winner"] == "同意"
    with rt.unit() as uow:  # 4 决定: two items with owners
        topic = uow.session.scalar(select(Topic).where(Topic.code == topic_code))
        today = uow.now.astimezone(uow.config.tz).date()
        decisions.decide(uow, STAFF, topic, [
            {"text": "报送加装电梯方案", "owner": "业委会（吴叔）", "owner_id": people[wu.openid].id,
             "due_on": today + timedelta(days=uow.config.deliberation.remind_days_before)},
            {"text": "公示费用分摊表", "owner": "物业", "due_on": today + timedelta(days=10)}])
    assert deliberation_jobs.remind_item_owners(rt) == 1  # the owner with a phone, due in two days
    deliver(rt)
    assert "由您负责" in texts(wu) and "到期" in texts(wu)
    assert "同意：1" not in texts(he)  # a vote result shows totals only
    with rt.unit() as uow:  # 5 落实 and 公示
        topic = uow.session.scalar(select(Topic).where(Topic.code == topic_code))
        for item in uow.session.scalars(select(DecisionItem).where(DecisionItem.topic_id == topic.id)):
            decisions.complete(uow, STAFF, item, "已完成")
    with rt.unit() as uow:
        decisions.publicise(uow, STAFF, uow.session.scalar(select(Topic).where(Topic.code == topic_code)))
    deliver(rt)
    db.rollback()
    assert db.scalar(select(Report.status).where(Report.code == code)) is Status.RESOLVED
    assert code in texts(lin) and "已办结" in texts(lin)  # the reporter hears it is done
    for persona in (lin, wu, he, zhou):  # the whole community is the audience
        assert "议事结果公示" in texts(persona)
