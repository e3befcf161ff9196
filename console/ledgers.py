"""台账: the monthly ledgers staff keep on paper, as rows in the same column layout.

Each builder returns (sheet title, header, rows) for one community and month; the
exports view writes them as .xlsx (openpyxl) or .csv.
"""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.web import hours
from core.config import Config
from core.texts import text
from domain.people import mask_name, person_name
from domain.reports.categories import categories
from models import (
    Building,
    DecisionItem,
    Invitation,
    Meeting,
    MeetingStatus,
    Opinion,
    RecordStatus,
    Report,
    ReportEvent,
    Resident,
    ReturnVisit,
    ServiceRecord,
    Signup,
    Status,
    Supervision,
    Topic,
    Vote,
)
from models.resident import mask_mobile

KINDS = ("reports", "meetings", "topics", "hours")


def month_span(config: Config, month: str) -> tuple[datetime, datetime]:
    """UTC bounds of a calendar month in local time; ValueError for anything but YYYY-MM."""
    first = datetime.strptime(month, "%Y-%m").date()
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = datetime.combine(first, time(), config.tz).astimezone(timezone.utc)
    return start, datetime.combine(following, time(), config.tz).astimezone(timezone.utc)


def _local(config: Config, moment: datetime | None) -> str:
    return moment.astimezone(config.tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def build(session: Session, config: Config, kind: str, community_id: int,
          month: str) -> tuple[str, list[str], list[list]]:
    start, end = month_span(config, month)
    header = text(f"c_ledger_{kind}_cols").split("|")
    title = text(f"c_ledger_{kind}", month=month)
    return title, header, BUILDERS[kind](session, config, community_id, start, end)


def _reports(session, config, community_id, start, end) -> list[list]:
    found = session.scalars(select(Report).where(
        Report.community_id == community_id, Report.created_at >= start, Report.created_at < end)
        .order_by(Report.id)).all()
    people = {r.id: r for r in session.scalars(select(Resident).where(
        Resident.id.in_([r.resident_id for r in found if r.resident_id])))}
    results, closing = {}, {}
    for event in session.scalars(select(ReportEvent).where(
            ReportEvent.report_id.in_([r.id for r in found]), ReportEvent.note.is_not(None))
            .order_by(ReportEvent.id)):
        results[event.report_id] = event.note  # the latest note …
        if event.to_status in (Status.RESOLVED, Status.REJECTED, Status.REFERRED):
            closing[event.report_id] = event.note  # … unless one says how it was closed
    results.update(closing)
    names = {c.code: c.name for c in categories(config)}
    ids = [r.id for r in found]
    # 地点: the building the report resolved to (never a typed home address), else the words.
    buildings = dict(session.execute(select(Building.id, Building.name).where(
        Building.id.in_({r.building_id for r in found if r.building_id}))).all())
    tickets: dict[int, list[Supervision]] = {}
    for ticket in session.scalars(select(Supervision).where(Supervision.report_id.in_(ids))):
        tickets.setdefault(ticket.report_id, []).append(ticket)
    visits: dict[int, list[ReturnVisit]] = {}
    for visit in session.scalars(select(ReturnVisit).where(ReturnVisit.report_id.in_(ids))):
        visits.setdefault(visit.report_id, []).append(visit)
    rows = []
    for n, report in enumerate(found, start=1):
        who = people.get(report.resident_id)
        reporter = " ".join(filter(None, (mask_name(who.name) or person_name(who),
                                          mask_mobile(who.mobile)))) if who \
            else text("c_source_open311")
        rows.append([n, _local(config, report.created_at), report.code, reporter,
                     names.get(report.category, report.category), _triage(report),
                     buildings.get(report.building_id) or report.address or "", report.description, report.assignee_title,
                     _local(config, report.accepted_at), _local(config, report.resolved_at),
                     results.get(report.id, ""), text(f"status_{report.status.value}"),
                     report.rating or "", _supervision(tickets.get(report.id, [])),
                     _visits(visits.get(report.id, []))])
    return rows


def _triage(report: Report) -> str:
    """分流: the tier, who decided it and why."""
    by = report.triaged_by or text("c_pre_tiered")
    reason = f"：{report.triage_reason}" if report.triage_reason else ""
    return f"{text(f'tier_{report.tier.value}')}（{by}{reason}）"


def _supervision(tickets: list) -> str:
    return "；".join(f"{t.note}→{t.answer or text('c_unanswered')}" for t in tickets)


def _visits(visits: list) -> str:
    return "；".join(text(f"c_visit_reason_{v.reason}") + "："
                    + text(f"c_visit_{v.outcome}" if v.outcome else "c_visit_pending") for v in visits)


def _meetings(session, config, community_id, start, end) -> list[list]:
    found = session.scalars(select(Meeting).where(
        Meeting.community_id == community_id, Meeting.starts_at >= start, Meeting.starts_at < end,
        Meeting.status.in_((MeetingStatus.PUBLISHED, MeetingStatus.CLOSED)))
        .order_by(Meeting.starts_at)).all()
    rows = []
    for n, meeting in enumerate(found, start=1):
        attended = meeting.attendee_count if meeting.attendee_count is not None else len(
            session.scalars(select(Signup.id).where(Signup.meeting_id == meeting.id,
                                                    Signup.checked_in_at.is_not(None))).all())
        topics = "；".join(item.get("text", "") for item in meeting.agenda) or meeting.title
        outcome = "；".join(f"{d.get('text', '')}（{d.get('owner', '')}）" for d in meeting.decisions)
        rows.append([n, meeting.starts_at.astimezone(config.tz).strftime("%Y-%m-%d"),
                     f"{meeting.starts_at.astimezone(config.tz):%H:%M}-"
                     f"{meeting.ends_at.astimezone(config.tz):%H:%M}",
                     meeting.place, text(f"meeting_type_{meeting.type.value}"), meeting.title,
                     topics, meeting.confirmed_count, attended,
                     "\n".join(part for part in (outcome, text("c_ledger_minutes", minutes=meeting.minutes)
                                                   if meeting.minutes else "") if part)])
    return rows


def _hours(session, config, community_id, start, end) -> list[list]:
    first, last = start.astimezone(config.tz).date(), end.astimezone(config.tz).date()
    found = session.execute(select(ServiceRecord, Resident).join(
        Resident, Resident.id == ServiceRecord.volunteer_id).where(
        ServiceRecord.community_id == community_id, ServiceRecord.status == RecordStatus.APPROVED,
        ServiceRecord.service_date >= first, ServiceRecord.service_date < last)
        .order_by(ServiceRecord.service_date, ServiceRecord.id)).all()
    beneficiaries = {r.id: person_name(r) for r in session.scalars(select(Resident).where(
        Resident.id.in_([s.beneficiary_id for s, _ in found if s.beneficiary_id])))}
    return [[n, f"{record.service_date:%Y-%m-%d}", person_name(volunteer),
             record.service_type,
             beneficiaries.get(record.beneficiary_id) or record.beneficiary_name or "",
             float(hours(record.minutes)), record.verifier or "", _local(config, record.verified_at)]
            for n, (record, volunteer) in enumerate(found, start=1)]


def _topics(session, config, community_id, start, end) -> list[list]:
    """议事台账: each topic raised in the month, through its five steps."""
    found = session.scalars(select(Topic).where(
        Topic.community_id == community_id, Topic.created_at >= start, Topic.created_at < end)
        .order_by(Topic.id)).all()
    ids = [t.id for t in found]
    opinions = dict(session.execute(select(Opinion.topic_id, func.count()).where(Opinion.topic_id.in_(ids))
                                    .group_by(Opinion.topic_id)).all())
    items: dict[int, list[DecisionItem]] = {}
    for item in session.scalars(select(DecisionItem).where(DecisionItem.topic_id.in_(ids)).order_by(DecisionItem.id)):
        items.setdefault(item.topic_id, []).append(item)
    polls: dict[int, list[Vote]] = {}
    for vote in session.scalars(select(Vote).where(Vote.topic_id.in_(ids)).order_by(Vote.id)):
        polls.setdefault(vote.topic_id, []).append(vote)
    rows = []
    for n, topic in enumerate(found, start=1):
        meeting = session.get(Meeting, topic.meeting_id) if topic.meeting_id else None
        parties = session.execute(select(Invitation.party, func.count()).where(
            Invitation.meeting_id == topic.meeting_id, Invitation.answer == "yes")
            .group_by(Invitation.party)).all() if meeting else []
        done = [i for i in items.get(topic.id, []) if i.status.value == "done"]
        # Paper for staff: the proposer by name (the public board keeps 居民).
        proposer = person_name(session.get(Resident, topic.proposer_id)) if topic.proposer_id else topic.raised_by
        rows.append([n, _local(config, topic.created_at), topic.code, topic.title, proposer,
                     topic.support_count, opinions.get(topic.id, 0),
                     f"{meeting.title} {_local(config, meeting.starts_at)}" if meeting else "",
                     "；".join(f"{text(f'party_{p.value}')}{c}人" for p, c in parties),
                     "；".join(_vote_line(v) for v in polls.get(topic.id, [])),
                     "；".join(f"{i.text}（{i.owner}，{i.due_on}，{text(f'item_status_{i.status.value}')}）"
                              for i in items.get(topic.id, [])),
                     f"{len(done)}/{len(items.get(topic.id, []))}" if items.get(topic.id) else "",
                     text(f"topic_status_{topic.status.value}")])
    return rows


def _vote_line(vote: Vote) -> str:
    if vote.result is None:
        return f"{vote.question}：{text('c_vote_open')}"
    counts = "、".join(f"{o}{c}" for o, c in zip(vote.options, vote.result["counts"]))
    return f"{vote.question}：{counts}（{vote.result['cast']}/{vote.result['electorate']}）" \
        + (text("vote_passed", winner=vote.result["winner"]) if vote.result["winner"] else "")


BUILDERS = {"reports": _reports, "meetings": _meetings, "topics": _topics, "hours": _hours}
