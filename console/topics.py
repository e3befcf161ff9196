"""五步议事 in the console: topics with their support and opinions, opening them for
opinions, declining, scheduling on a meeting, decisions with owners and due dates, their
progress, and 公示 — every action through domain.deliberation, audited there."""
from __future__ import annotations

import re
from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from console.access import (
    READ,
    WRITE,
    allow,
    chosen_community,
    communities,
    grids,
    in_scope,
    scoped,
)
from console.web import config, db, now, paginate, to_id, unit
from core.texts import text
from domain import residents
from domain.deliberation import decisions, topics, votes
from domain.errors import Refused
from domain.reports import housekeeping
from domain.reports.paths import DELIBERATIONS
from models import (
    Ballot,
    Building,
    DecisionItem,
    Invitation,
    Meeting,
    MeetingStatus,
    Opinion,
    Party,
    Report,
    Resident,
    Topic,
    TopicStatus,
    Vote,
)

bp = Blueprint("topics", __name__, url_prefix="/console/topics")
OPINIONS_SHOWN = 200


@bp.get("")
@allow(*READ)
def index():
    status = request.args.get("status", "open")
    query = scoped(select(Topic), Topic.community_id)
    if (community := chosen_community(request.args.get("community"))):
        query = query.where(Topic.community_id == community)
    if status == "open":
        query = query.where(Topic.status.not_in((TopicStatus.DECLINED, TopicStatus.PUBLICISED)))
    elif status in TopicStatus.__members__.values():
        query = query.where(Topic.status == TopicStatus(status))
    rows, page = paginate(query.order_by(Topic.support_count.desc(), Topic.id.desc()))
    focal = housekeeping.focal_issues(unit(), community, now() - timedelta(days=7))["categories"] \
        if community else []
    return render_template("console/topics.html", rows=rows, page=page, status=status,
                           statuses=list(TopicStatus), communities=communities(), focal=focal,
                           community_id=community)


@bp.post("/focal")
@allow(*WRITE)
def from_focal():
    """A focal issue of the week becomes a topic (five-step deliberation starts)."""
    community = chosen_community(request.form.get("community"))
    wanted = request.form.get("category", "")[:20]
    found = dict(housekeeping.focal_issues(unit(), community, now() - timedelta(days=7))["categories"]) \
        if community else {}
    if wanted not in found:
        abort(400)
    try:
        topic = topics.from_focal(unit(), _actor(), community, wanted, found[wanted])
    except Refused as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("topics.index"))
    flash(text("c_topic_done", code=topic.code), "ok")
    return redirect(url_for("topics.detail", topic_id=topic.id))


@bp.get("/<int:topic_id>")
@allow(*READ)
def detail(topic_id: int):
    topic = in_scope(Topic, topic_id)
    opinions = db().scalars(select(Opinion).where(Opinion.topic_id == topic.id)
                            .order_by(Opinion.id.desc()).limit(OPINIONS_SHOWN)).all()
    items = db().scalars(select(DecisionItem).where(DecisionItem.topic_id == topic.id)
                         .order_by(DecisionItem.id)).all()
    meetings = db().scalars(select(Meeting).where(
        Meeting.community_id == topic.community_id, Meeting.starts_at > now(),
        Meeting.type.in_(DELIBERATIONS),
        Meeting.status.in_((MeetingStatus.DRAFT, MeetingStatus.PUBLISHED))).order_by(Meeting.starts_at)).all()
    buildings = db().scalars(select(Building).where(Building.community_id == topic.community_id)
                             .order_by(Building.id)).all()
    meeting = db().get(Meeting, topic.meeting_id) if topic.meeting_id else None
    invitations = db().execute(select(Invitation, Resident).join(Resident, Resident.id == Invitation.resident_id)
                               .where(Invitation.meeting_id == meeting.id).order_by(Invitation.id)).all() \
        if meeting else []
    polls = db().scalars(select(Vote).where(Vote.topic_id == topic.id).order_by(Vote.id)).all()
    # Every ballot, for staff to audit (residents only ever see totals).
    ballots: dict[int, list] = {}
    for ballot, person in db().execute(select(Ballot, Resident).join(Resident, Resident.id == Ballot.resident_id)
                                       .where(Ballot.vote_id.in_([v.id for v in polls])).order_by(Ballot.id)):
        ballots.setdefault(ballot.vote_id, []).append((ballot, person))
    return render_template("console/topic.html", topic=topic, opinions=opinions, items=items,
                           draft=session.pop(f"draft:{topic.id}", ""),
                           invitations=invitations, parties=list(Party), polls=polls, ballots=ballots,
                           attendance=votes.attendance(unit(), meeting) if meeting else None,
                           tallies={v.id: v.result or votes.tally(unit(), v) for v in polls},
                           summary=topics.opinion_summary(unit(), topic), meetings=meetings,
                           buildings=buildings, grids=grids(topic.community_id),
                           meeting=meeting,
                           report=db().get(Report, topic.report_id) if topic.report_id else None,
                           proposer=db().get(Resident, topic.proposer_id) if topic.proposer_id else None,
                           today=now().astimezone(config().tz).date(), overdue_of=_overdue)


def _overdue(item: DecisionItem) -> bool:
    return item.status.value == "open" and item.due_on < now().astimezone(config().tz).date()


def _act(topic: Topic, work, ok_key: str = "c_topic_done", keep: str | None = None):
    """Run one use case; on a refusal what was typed in `keep` comes back in the form."""
    try:
        work()
    except Refused as refusal:
        flash(refusal.message, "error")
        if keep:
            session[f"draft:{topic.id}"] = keep[:2000]
    else:
        flash(text(ok_key, code=topic.code), "ok")
    return redirect(url_for("topics.detail", topic_id=topic.id))


def _actor():
    return current_user.actor


@bp.post("/<int:topic_id>/opinions")
@allow(*WRITE)
def open_opinions(topic_id: int):
    topic = in_scope(Topic, topic_id)
    kind, ident = request.form.get("audience", "community"), to_id(request.form.get("target"))
    audience = {"type": "community", "id": topic.community_id}
    if kind in ("grid", "building") and ident:
        known = {g.id for g in grids(topic.community_id)} if kind == "grid" else set(db().scalars(
            select(Building.id).where(Building.community_id == topic.community_id)))
        if ident not in known:
            abort(400)
        audience = {"type": kind, "id": ident}
    days = to_id(request.form.get("days")) or None
    return _act(topic, lambda: topics.open_opinions(unit(), _actor(), topic, audience, days))


@bp.post("/<int:topic_id>/decline")
@allow(*WRITE)
def decline(topic_id: int):
    topic = in_scope(Topic, topic_id)
    return _act(topic, lambda: topics.decline(unit(), _actor(), topic, request.form.get("note", "")[:200]))


@bp.post("/<int:topic_id>/schedule")
@allow(*WRITE)
def schedule(topic_id: int):
    topic = in_scope(Topic, topic_id)
    meeting = db().get(Meeting, to_id(request.form.get("meeting")) or 0)
    if meeting is None:
        flash(text("agenda_bad_meeting"), "error")
        return redirect(url_for("topics.detail", topic_id=topic.id))
    return _act(topic, lambda: decisions.schedule(unit(), _actor(), topic, meeting))


def parse_items(raw: str) -> list[dict]:
    """'事项｜负责人｜YYYY-MM-DD' per line (the owner a party — 业委会, 物业 — or a resident,
    by registered name or with their mobile, who is then reminded in WeChat)."""
    items = []
    for line in (raw or "").splitlines()[:decisions.MAX_ITEMS + 1]:
        parts = [p.strip() for p in line.replace("|", "｜").split("｜")]
        if not any(parts):
            continue
        try:  # 2026-12-20, 2026/12/20, 2026.12.20
            due = date.fromisoformat(re.sub(r"[/.]", "-", parts[2])) if len(parts) > 2 else None
        except ValueError:
            due = None
        items.append({"text": parts[0], "owner": parts[1] if len(parts) > 1 else "", "due_on": due})
    return items


@bp.post("/<int:topic_id>/decide")
@allow(*WRITE)
def decide(topic_id: int):
    topic = in_scope(Topic, topic_id)
    typed = request.form.get("items")
    return _act(topic, lambda: decisions.decide(unit(), _actor(), topic, parse_items(typed)), keep=typed)


@bp.post("/<int:topic_id>/publicise")
@allow(*WRITE)
def publicise(topic_id: int):
    topic = in_scope(Topic, topic_id)
    return _act(topic, lambda: decisions.publicise(unit(), _actor(), topic), "c_topic_publicised")


@bp.post("/items/<int:item_id>")
@allow(*WRITE)
def item(item_id: int):
    row = db().get(DecisionItem, item_id)
    if row is None:
        abort(404)
    topic = in_scope(Topic, row.topic_id)
    note = request.form.get("note", "")[:200]
    if request.form.get("done") == "1":
        return _act(topic, lambda: decisions.complete(unit(), _actor(), row, note))
    return _act(topic, lambda: decisions.note_progress(unit(), _actor(), row, note))


@bp.post("/<int:topic_id>/invite")
@allow(*WRITE)
def invite(topic_id: int):
    """Invite a resident (by mobile) to the topic's meeting for a party (四方: 社区、业委会、物业、居民代表)."""
    topic = in_scope(Topic, topic_id)
    meeting = db().get(Meeting, topic.meeting_id) if topic.meeting_id else None
    resident = residents.by_mobile(unit(), request.form.get("mobile", "").strip()[:11], topic.community_id)
    party = request.form.get("party", "")
    if meeting is None or resident is None or party not in Party.__members__.values():
        flash(text("c_invite_unknown"), "error")
        return redirect(url_for("topics.detail", topic_id=topic.id))
    return _act(topic, lambda: votes.invite(unit(), _actor(), meeting, resident, Party(party)))


@bp.post("/<int:topic_id>/vote")
@allow(*WRITE)
def open_vote(topic_id: int):
    topic = in_scope(Topic, topic_id)
    days = to_id(request.form.get("days")) or 1
    options = request.form.get("options", "").splitlines()[:votes.MAX_OPTIONS + 1]
    meeting = db().get(Meeting, topic.meeting_id) if topic.meeting_id else None
    electorate = request.form.get("electorate", "")
    # Members vote at or after their meeting: the days count from its end.
    start = max(now(), meeting.ends_at) if meeting and electorate == "invited" else now()
    return _act(topic, lambda: votes.open_vote(
        unit(), _actor(), topic, question=request.form.get("question", "")[:100], options=options,
        electorate=electorate, meeting=meeting, closes_at=start + timedelta(days=min(days, 365))))
