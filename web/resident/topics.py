"""One topic for a resident of its community (五步议事): what it is and where it stands,
附议, an opinion while they are collected, a vote while one is open, and its decisions."""
from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from domain.deliberation import topics, votes
from domain.errors import Refused
from domain.reports.places import household
from models import Ballot, DecisionItem, Meeting, Opinion, Topic, TopicSupport, Vote, VoteStatus
from web.resident.signin import bp, db, done, me, not_found, refused, signed_in, unit


def _topic(code: str) -> Topic | None:
    found = db().scalar(select(Topic).where(Topic.code == code.upper()[:16]))
    return found if found is not None and found.community_id == me().community_id else None


@bp.get("/topics/<code>")
@signed_in
def topic(code: str):
    found = _topic(code)
    if found is None:
        return not_found()
    person = me()
    polls = [v for v in db().scalars(select(Vote).where(Vote.topic_id == found.id).order_by(Vote.id))
             if v.status is VoteStatus.CLOSED or votes.may_vote(unit(), v, person)]
    voted = set(db().scalars(select(Ballot.vote_id).where(
        Ballot.vote_id.in_([v.id for v in polls]),
        Ballot.voter_key.in_([household(person), f"r:{person.id}"]))))
    return render_template(
        "resident/topic.html", topic=found, polls=polls, voted=voted,
        meeting=db().get(Meeting, found.meeting_id) if found.meeting_id else None,
        supported=db().scalar(select(TopicSupport.id).where(
            TopicSupport.topic_id == found.id, TopicSupport.resident_id == person.id)) is not None,
        mine=found.proposer_id == person.id,
        opinion=db().scalar(select(Opinion).where(Opinion.topic_id == found.id,
                                                  Opinion.resident_id == person.id)),
        may_give=topics.in_audience(unit(), found, person),
        items=db().scalars(select(DecisionItem).where(DecisionItem.topic_id == found.id)
                           .order_by(DecisionItem.id)).all())


@bp.post("/topics/<code>/support")
@signed_in
def support(code: str):
    found = _topic(code)
    if found is None:
        return not_found()
    try:
        count = topics.support(unit(), me(), found)
    except Refused as refusal:
        return refused(refusal)
    return done("topic_supported", f"/topics/{found.code}", code=found.code, n=count)


@bp.post("/topics/<code>/opinion")
@signed_in
def opinion(code: str):
    found = _topic(code)
    if found is None:
        return not_found()
    stance = request.form.get("stance") or None
    try:
        replaced = topics.give_opinion(unit(), me(), found, request.form.get("text", "")[:500],
                                       stance if stance in topics.STANCES else None)
    except Refused as refusal:
        return refused(refusal)
    return done("r_opinion_updated" if replaced else "r_opinion_saved", f"/topics/{found.code}")


@bp.post("/votes/<code>")
@signed_in
def vote(code: str):
    found = db().scalar(select(Vote).where(Vote.code == code.upper()[:16]))
    topic_ = db().get(Topic, found.topic_id) if found else None
    if topic_ is None or topic_.community_id != me().community_id:
        return not_found()
    choice = request.form.get("choice", "")
    try:
        votes.cast(unit(), me(), found, int(choice) if choice.isdigit() else 0)
    except Refused as refusal:
        return refused(refusal)
    return done("r_vote_cast", f"/topics/{topic_.code}")
