"""表决 and participants: invitations by party with RSVP and the quorum, votes by invited
members or one per household with a deadline, kind refusals, frozen results (fast tier),
and 500 residents voting at once through a multi-worker webhook (real HTTP)."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import SYSTEM
from core.db import make_engine, make_session_factory, transaction
from domain.deliberation import topics, votes
from domain.errors import Refused
from domain.unit import Unit
from models import Ballot, Meeting, MeetingType, Party, Resident, Topic, Vote, VoteStatus
from scheduler import deliberation_jobs
from tests.meeting_helpers import STAFF, make_meeting
from tests.scheduler_helpers import seed_followers

TOPIC = "3栋想加装电梯，希望社区组织大家商量费用怎么分摊"


def new_topic(uow, resident) -> Topic:
    return topics.propose(uow, resident, TOPIC)


def test_a_joint_meeting_with_parties_rsvp_quorum_and_an_invited_vote(chat, uow, clock, rt, fast_db):
    people = {name: chat.registered(name) for name in ("lin", "wu", "he", "zhou")}
    topic = new_topic(uow, people["lin"].resident)
    meeting = fast_db.get(Meeting, make_meeting(uow, type=MeetingType.JOINT, title="3栋电梯四方联席会议"))
    for name, party in zip(people, (Party.COMMUNITY, Party.OWNERS, Party.PROPERTY, Party.RESIDENTS)):
        votes.invite(uow, STAFF, meeting, people[name].resident, party)
    with pytest.raises(Refused):
        votes.invite(uow, STAFF, meeting, people["lin"].resident, Party.EXPERT)
    assert any(f"参加 {meeting.id}" in m.payload["text"] for m in people["wu"].pushes("meeting_update"))
    assert "已登记您参加" in people["lin"].say(f"参加 {meeting.id}")
    assert "已登记您参加" in people["wu"].say(f"参加 {meeting.id}")
    assert not votes.attendance(uow, meeting)["met"]  # 2 of 4 < 2/3 for a 四方联席会议
    assert "已登记您参加" in people["he"].say(f"参加 {meeting.id}")
    assert "不参加" in people["zhou"].say(f"不参加 {meeting.id}")
    seen = votes.attendance(uow, meeting)
    assert seen["met"] and seen["coming"] == 3 and seen["parties"]["property"] == {"invited": 1, "coming": 1}
    assert "没有邀请您" in chat.registered("outsider").say(f"参加 {meeting.id}")

    with pytest.raises(Refused):  # members vote at or after their meeting
        votes.open_vote(uow, STAFF, topic, question="是否同意", options=["同意", "不同意"],
                        electorate="invited", closes_at=meeting.starts_at - timedelta(hours=1), meeting=meeting)
    vote = votes.open_vote(uow, STAFF, topic, question="是否同意按楼层分摊费用", options=["同意", "不同意"],
                           electorate="invited", closes_at=meeting.ends_at + timedelta(days=1), meeting=meeting)
    assert vote.electorate_size == 4 and re.fullmatch(r"TP\d{6}", vote.code)
    assert "已记录您的投票" in people["lin"].say(f"投票 {vote.code} 1")
    assert "已经投过票" in people["lin"].say(f"投票 {vote.code} 2")  # voting twice
    assert "1到2之间" in people["wu"].say(f"投票 {vote.code} 7")
    assert "只由受邀代表" in chat.registered("outsider2").say(f"投票 {vote.code} 1")
    people["wu"].say(f"投票 {vote.code} 1")
    people["he"].say(f"投票 {vote.code} 2")
    clock.set(vote.closes_at + timedelta(seconds=1))
    assert "已经截止" in people["zhou"].say(f"投票 {vote.code} 1")  # after the deadline
    assert deliberation_jobs.close_votes(rt) == 1
    fast_db.expire_all()
    closed = fast_db.get(Vote, vote.id)
    assert closed.status is VoteStatus.CLOSED
    assert closed.result == {"counts": [2, 1], "cast": 3, "electorate": 4, "quorum_met": True, "winner": "同意"}
    assert any("通过：同意" in m.payload["text"] for m in people["lin"].pushes("topic_update"))
    assert any("通过：同意" in m.payload["text"] for m in people["he"].pushes("topic_update"))  # a voter
    # Secret to other residents: the result push carries totals, never who chose what.
    assert all("lin" not in m.payload["text"] for m in people["wu"].pushes("topic_update"))


def test_one_vote_per_household_of_the_audience(chat, uow, clock, fast_db):
    wife = chat.registered("wife", address="3栋2单元502")
    husband = chat.registered("husband", address="3栋2单元502室")  # the same home, written another way
    neighbour = chat.registered("neighbour", address="3栋2单元503")
    stairwell = chat.registered("stairwell", address="3栋2单元")
    far = chat.registered("far", address="5栋1单元101")
    topic = new_topic(uow, wife.resident)
    topic.audience = {"type": "building", "id": wife.resident.building_id}
    fast_db.flush()
    with pytest.raises(Refused):
        votes.open_vote(uow, STAFF, topic, question="装不装", options=["装"], electorate="household",
                        closes_at=uow.now + timedelta(days=2))
    vote = votes.open_vote(uow, STAFF, topic, question="是否加装电梯", options=["同意", "反对", "弃权"],
                           electorate="household", closes_at=uow.now + timedelta(days=2))
    assert vote.electorate_size == 3  # 502 (two people), 503, and one without a room number
    short = vote.code.replace("TP0000", "TP")  # "TP12": people type the number they were told
    assert "已记录" in wife.say(f"投票 {short} 同意")
    assert "您家已经投过票" in husband.say(f"投票 {vote.code} 2")
    assert "已记录" in neighbour.say(f"投票 {vote.code} 2")
    assert "已记录" in stairwell.say(f"投票 {vote.code} 1")
    assert "只由受邀代表或相关楼栋" in far.say(f"投票 {vote.code} 1")
    assert len(fast_db.scalars(select(Ballot).where(Ballot.vote_id == vote.id)).all()) == 3
    assert votes.tally(uow, vote)["winner"] == "同意"


@pytest.mark.xdist_group("gunicorn")
def test_500_residents_voting_at_once_count_exactly_once(via_gunicorn, config, db, db_url):
    sim = via_gunicorn
    openids = seed_followers(db_url, sim, 500, prefix="ovote")
    engine = make_engine(db_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            uow = Unit(session, config, SYSTEM)
            proposer = session.scalar(select(Resident).where(Resident.openid == openids[0]))
            topic = new_topic(uow, proposer)
            code = votes.open_vote(uow, STAFF, topic, question="是否同意改造小花园", options=["同意", "反对"],
                                   electorate="household", closes_at=uow.now + timedelta(days=1)).code
    finally:
        engine.dispose()

    def say(openid: str, words: str) -> str:
        return sim.call("POST", f"/personas/{openid}/send", json={"type": "text", "content": words})["reply"]

    with ThreadPoolExecutor(32) as pool:
        first = list(pool.map(lambda o: say(o, f"投票 {code} {1 + int(o[-1]) % 2}"), openids))
        again = list(pool.map(lambda o: say(o, f"投票 {code} 1"), openids[:100]))
    assert all("已记录您的投票" in r for r in first), [r for r in first if "已记录" not in r][:3]
    assert all("已经投过票" in r for r in again)
    db.rollback()
    ballots = db.scalars(select(Ballot).join(Vote).where(Vote.code == code)).all()
    assert len(ballots) == 500 and len({b.resident_id for b in ballots}) == 500
    assert sum(b.choice == 1 for b in ballots) == 250


def test_console_invites_parties_opens_a_vote_and_shows_the_tally(chat, app, uow, fast_db):
    from tests.console_helpers import Console, add_accounts_to

    add_accounts_to(fast_db)
    rep = chat.registered("rep", mobile="13800000009")
    topic = new_topic(uow, rep.resident)
    meeting = fast_db.get(Meeting, make_meeting(uow, type=MeetingType.JOINT, title="3栋电梯四方联席会议"))
    from domain.deliberation import decisions
    decisions.schedule(uow, STAFF, topic, meeting)
    desk = Console(app.test_client())
    desk.login("t-staff")
    assert "请先把议题" in desk.follow(desk.post(f"/console/topics/{topic.id}/invite",
                                                 {"mobile": "13900000000", "party": "owners"}))
    desk.post(f"/console/topics/{topic.id}/invite", {"mobile": "13800000009", "party": "residents"})
    rep.say(f"参加 {meeting.id}")
    page = desk.get(f"/console/topics/{topic.id}").text
    assert "居民代表" in page and "确认参加 1/1" in page and "已达法定人数" in page
    refused = desk.follow(desk.post(f"/console/topics/{topic.id}/vote", {
        "question": "是否同意", "options": "同意", "electorate": "invited", "days": "2"}))
    assert "2到6个" in refused and fast_db.scalars(select(Vote)).all() == []
    desk.post(f"/console/topics/{topic.id}/vote", {"question": "是否同意按楼层分摊", "options": "同意\n反对",
                                                   "electorate": "invited", "days": "2"})
    [vote] = fast_db.scalars(select(Vote)).all()
    rep.say(f"投票 {vote.code} 2")
    page = desk.get(f"/console/topics/{topic.id}").text
    assert "反对 1票" in page and "投票 1/1" in page
    assert "逐票核查（1票" in page and "138****0009 → 反对" in page  # staff audit every ballot
