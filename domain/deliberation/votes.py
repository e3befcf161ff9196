"""表决 and who takes part: invitations by party to a 议事会 / 四方联席会议 with their RSVP
and the meeting type's quorum, and votes on a topic's options — by the invited members or
one per household of the topic's audience — with a deadline, counted once each, frozen
when they close. Ballots are for staff to audit; residents only ever see the totals."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from core.clock import local
from core.db import insert_ignore
from core.outbox import message
from core.texts import text
from core.words import clip
from domain import audit, broadcasts
from domain.actor import Actor
from domain.deliberation.topics import in_audience, tell_followers
from domain.errors import Refused
from domain.reports.paths import DELIBERATIONS
from domain.reports.places import household
from domain.unit import Unit, use_case
from models import (
    Ballot,
    Invitation,
    Meeting,
    MeetingStatus,
    Party,
    Resident,
    Topic,
    Vote,
    VoteStatus,
)

MAX_OPTIONS, MAX_OPTION_CHARS = 6, 20


# --- invitations ---------------------------------------------------------------------------

@use_case
def invite(uow: Unit, actor: Actor, meeting: Meeting, resident: Resident, party: Party) -> Invitation:
    """Invite someone for a party; they are asked in WeChat to answer 参加 / 不参加."""
    if not actor.is_staff_of(meeting.community_id):
        raise Refused("not_allowed")
    if meeting.type not in DELIBERATIONS or meeting.status not in (MeetingStatus.DRAFT, MeetingStatus.PUBLISHED) \
            or meeting.starts_at <= uow.now:
        raise Refused("invite_bad_meeting")
    if uow.session.scalar(select(Invitation.id).where(Invitation.meeting_id == meeting.id,
                                                      Invitation.resident_id == resident.id)):
        raise Refused("invite_twice")
    invitation = Invitation(meeting_id=meeting.id, resident_id=resident.id, party=party, created_at=uow.now)
    uow.session.add(invitation)
    uow.session.flush()
    uow.push(resident.id, "meeting_update", message(
        text("push_invited", party=text(f"party_{party.value}"), title=meeting.title,
             when=local(uow.config, meeting.starts_at), place=meeting.place, id=meeting.id),
        {"title": meeting.title, "status": text("phrase_invited"), "time": meeting.starts_at,
         "note": text(f"party_{party.value}"), "meeting": meeting.id}), f"invitation:{invitation.id}")
    audit.record(uow, actor, "meeting_invite", f"meeting:{meeting.id}", None,
                 {"resident": resident.id, "party": party.value})
    return invitation


@use_case
def rsvp(uow: Unit, resident: Resident, meeting: Meeting, coming: bool) -> Invitation:
    invitation = uow.session.scalar(select(Invitation).where(Invitation.meeting_id == meeting.id,
                                                             Invitation.resident_id == resident.id))
    if invitation is None:
        raise Refused("rsvp_not_invited")
    if meeting.status is not MeetingStatus.PUBLISHED and meeting.status is not MeetingStatus.DRAFT \
            or meeting.starts_at <= uow.now:
        raise Refused("rsvp_too_late")
    invitation.answer, invitation.answered_at = ("yes" if coming else "no"), uow.now
    return invitation


def attendance(uow: Unit, meeting: Meeting) -> dict:
    """Invited, coming, per party, and whether the meeting type's quorum is reached."""
    rows = uow.session.execute(select(Invitation.party, Invitation.answer, func.count())
                               .where(Invitation.meeting_id == meeting.id)
                               .group_by(Invitation.party, Invitation.answer)).all()
    invited = sum(n for _, _, n in rows)
    coming = sum(n for _, answer, n in rows if answer == "yes")
    parties: dict[str, dict[str, int]] = {}
    for party, answer, n in rows:
        entry = parties.setdefault(party.value, {"invited": 0, "coming": 0})
        entry["invited"] += n
        entry["coming"] += n if answer == "yes" else 0
    quorum = uow.config.deliberation.quorum_for(meeting.type.value)
    return {"invited": invited, "coming": coming, "parties": parties, "quorum": quorum,
            "met": invited > 0 and coming >= quorum * invited}


# --- votes ---------------------------------------------------------------------------------

def _households(uow: Unit, topic: Topic) -> int:
    """Homes among the registered followers the topic's audience covers (one query)."""
    covered = broadcasts.audience_query(topic.audience).where(Resident.community_id == topic.community_id)
    people = uow.session.scalars(select(Resident).where(Resident.id.in_(covered),
                                                        Resident.registered_at.is_not(None)))
    return len({household(r) for r in people})


@use_case
def open_vote(uow: Unit, actor: Actor, topic: Topic, *, question: str, options: list[str],
              electorate: str, closes_at: datetime, meeting: Meeting | None = None) -> Vote:
    if not actor.is_staff_of(topic.community_id):
        raise Refused("not_allowed")
    options = [clip(o.strip(), MAX_OPTION_CHARS) for o in options if o and o.strip()]
    if not 2 <= len(options) <= MAX_OPTIONS or len(set(options)) != len(options):
        raise Refused("vote_bad_options", n=MAX_OPTIONS)
    question = (question or "").strip()
    if not question:
        raise Refused("vote_bad_question")
    days = (closes_at - uow.now).total_seconds() / 86400
    if not 0 < days <= uow.config.deliberation.max_vote_days:
        raise Refused("vote_bad_deadline", n=uow.config.deliberation.max_vote_days)
    if electorate == "invited":
        if meeting is None or meeting.community_id != topic.community_id:
            raise Refused("vote_needs_meeting")
        if closes_at <= meeting.starts_at:
            raise Refused("vote_before_meeting", when=local(uow.config, meeting.starts_at))
        size = uow.session.scalar(select(func.count()).select_from(Invitation).where(
            Invitation.meeting_id == meeting.id)) or 0
    elif electorate == "household":
        size = _households(uow, topic)
    else:
        raise Refused("vote_bad_electorate")
    if size == 0:
        raise Refused("vote_nobody")
    vote = Vote(topic_id=topic.id, meeting_id=meeting.id if meeting else None, question=clip(question, 100),
                options=options, electorate=electorate, electorate_size=size,
                quorum=uow.config.deliberation.quorum_for(meeting.type.value if meeting else None),
                majority=uow.config.deliberation.majority, closes_at=closes_at, status=VoteStatus.OPEN,
                created_by=actor.display[:64], created_at=uow.now)
    uow.session.add(vote)
    uow.session.flush()
    vote.code = f"TP{vote.id:06d}"
    body = text("vote_notice", code=vote.code, question=vote.question, until=local(uow.config, closes_at),
                options="\n".join(f"{n}. {o}" for n, o in enumerate(options, 1)))
    if electorate == "invited":
        for resident_id in uow.session.scalars(select(Invitation.resident_id).where(
                Invitation.meeting_id == meeting.id)):
            uow.push(resident_id, "topic_update", message(body, {
                "title": topic.title, "status": text("phrase_voting"), "time": closes_at,
                "note": vote.question, "topic": topic.code}), f"vote:{vote.id}:{resident_id}")
    else:
        broadcasts.notice(uow, actor, title=text("vote_notice_title", title=topic.title)[:64], text=body,
                          audience=topic.audience)
    audit.record(uow, actor, "vote_open", f"vote:{vote.code}", None,
                 {"topic": topic.code, "options": options, "electorate": electorate, "size": size})
    return vote


def may_vote(uow: Unit, vote: Vote, resident: Resident) -> bool:
    if vote.electorate == "invited":
        return uow.session.scalar(select(Invitation.id).where(
            Invitation.meeting_id == vote.meeting_id, Invitation.resident_id == resident.id)) is not None
    return in_audience(uow, uow.session.get(Topic, vote.topic_id), resident)


@use_case
def cast(uow: Unit, resident: Resident, vote: Vote, choice: int) -> None:
    """One ballot per voter (or household), before the deadline; a second is refused."""
    if vote.status is not VoteStatus.OPEN or uow.now >= vote.closes_at:
        raise Refused("vote_closed", code=vote.code)
    if not may_vote(uow, vote, resident):
        raise Refused("vote_not_yours", code=vote.code)
    if not 1 <= choice <= len(vote.options):
        raise Refused("vote_bad_choice", n=len(vote.options))
    key = household(resident) if vote.electorate == "household" else f"r:{resident.id}"
    if not insert_ignore(uow.session, Ballot.__table__, {
            "vote_id": vote.id, "voter_key": key, "resident_id": resident.id, "choice": choice,
            "created_at": uow.now}, ["vote_id", "voter_key"]):
        raise Refused("vote_household_already" if key.startswith("h:") else "vote_already", code=vote.code)


def tally(uow: Unit, vote: Vote) -> dict:
    counts = dict(uow.session.execute(select(Ballot.choice, func.count()).where(Ballot.vote_id == vote.id)
                                      .group_by(Ballot.choice)).all())
    cast_ = sum(counts.values())
    per_option = [counts.get(n, 0) for n in range(1, len(vote.options) + 1)]
    quorum_met = cast_ >= vote.quorum * vote.electorate_size
    best = max(range(len(per_option)), key=lambda i: per_option[i]) if cast_ else None
    passed = quorum_met and best is not None and per_option[best] > vote.majority * cast_
    return {"counts": per_option, "cast": cast_, "electorate": vote.electorate_size,
            "quorum_met": quorum_met, "winner": vote.options[best] if passed else None}


def close_due(uow: Unit) -> int:
    """Votes past their deadline: counted, the result frozen, followers told."""
    closed = 0
    for vote in uow.session.scalars(select(Vote).where(Vote.status == VoteStatus.OPEN,
                                                       Vote.closes_at <= uow.now)):
        vote.result, vote.status = tally(uow, vote), VoteStatus.CLOSED
        topic = uow.session.get(Topic, vote.topic_id)
        result = vote.result
        outcome = text("vote_passed", winner=result["winner"]) if result["winner"] else text(
            "vote_no_quorum" if not result["quorum_met"] else "vote_no_majority")
        voters = set(uow.session.scalars(select(Ballot.resident_id).where(Ballot.vote_id == vote.id)))
        tell_followers(uow, topic, text("push_vote_result", code=vote.code, question=vote.question,
                                        cast=result["cast"], electorate=result["electorate"],
                                        counts="，".join(f"{o}{n}票" for o, n in zip(vote.options, result["counts"])),
                                        outcome=outcome), f"vote:{vote.id}:result", also=voters)
        closed += 1
    return closed
