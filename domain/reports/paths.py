"""The tier's path beyond routing (三事分流): a 大事 goes to deliberation (议事会 /
四方联席会议) and its reporter hears when; a 私事 is answered with advice and referral,
kept private, and closed unless the resident asks for the community's mediator (调解)."""
from __future__ import annotations

from sqlalchemy import select

from core.clock import local
from core.texts import text
from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.reports import notify
from domain.reports.categories import name_of
from domain.reports.lifecycle import move, restart_clock
from domain.unit import Unit, use_case
from models import (
    OPEN_STATUSES,
    Community,
    MediationCase,
    Meeting,
    MeetingStatus,
    MeetingType,
    Report,
    ReportEvent,
    Resident,
    Status,
    Tier,
)

AGENDA_STATUSES = (MeetingStatus.DRAFT, MeetingStatus.PUBLISHED)
DELIBERATIONS = (MeetingType.COUNCIL, MeetingType.JOINT, MeetingType.HEARING)


# --- 大事: on a meeting's agenda ----------------------------------------------------------

@use_case
def put_on_agenda(uow: Unit, actor: Actor, report: Report, meeting: Meeting) -> Meeting:
    """Staff link an open report to a coming meeting of its community as a topic."""
    if not actor.is_staff_of(report.community_id):
        raise Refused("not_allowed")
    if report.status not in OPEN_STATUSES:
        raise Refused("work_bad_state", code=report.code, status=text(f"status_{report.status.value}"))
    if meeting.community_id != report.community_id or meeting.status not in AGENDA_STATUSES \
            or meeting.type not in DELIBERATIONS or meeting.starts_at <= uow.now:
        raise Refused("agenda_bad_meeting")
    if any(item.get("report_id") == report.id for item in meeting.agenda):
        raise Refused("agenda_already", code=report.code, title=meeting.title)
    meeting.agenda = [*meeting.agenda, agenda_item(uow.config, report)]
    deliberate(uow, report, meeting)
    audit.record(uow, actor, "report_agenda", f"report:{report.code}", None,
                 {"meeting": meeting.id, "title": meeting.title})
    return meeting


def agenda_item(config, report: Report) -> dict:
    """The topic as the meeting notice shows it to the whole audience: the code and the
    category, never the resident's own words (they may not be approved for publishing)."""
    return {"text": text("agenda_report_topic", code=report.code, category=name_of(config, report.category)),
            "report_id": report.id}


def deliberate(uow: Unit, report: Report, meeting: Meeting) -> None:
    """The report waits for the meeting: its resolve window runs from the meeting's end.
    Its reporter and followers are told once the meeting is published."""
    restart_clock(uow, report, resolving=True, fresh=True, start=meeting.ends_at)
    if meeting.status is MeetingStatus.PUBLISHED:
        announce(uow, report, meeting)


def announce(uow: Unit, report: Report, meeting: Meeting) -> None:
    """'It will be deliberated at … on …': a new report moves to in progress with that note."""
    note = text("event_on_agenda", title=meeting.title, when=local(uow.config, meeting.starts_at),
                place=meeting.place)
    if report.status in (Status.SUBMITTED, Status.ACCEPTED):
        move(uow, report, Status.IN_PROGRESS, actor=text("actor_meeting"), note=note)
        return
    event = ReportEvent(report_id=report.id, actor=text("actor_meeting"), note=note, created_at=uow.now)
    uow.session.add(event)
    uow.session.flush()
    notify.update(uow, report, event)


def linked_reports(uow: Unit, meeting: Meeting) -> list[Report]:
    """The meeting's topics that are reports still open (a closed one is only a record)."""
    ids = [item["report_id"] for item in meeting.agenda if item.get("report_id")]
    return list(uow.session.scalars(select(Report).where(
        Report.id.in_(ids), Report.status.in_(OPEN_STATUSES)))) if ids else []


def meeting_cancelled(uow: Unit, report: Report, meeting: Meeting) -> None:
    """The meeting will not take place: the report is back on a normal clock from now, and
    its reporter and followers are told it is still being handled."""
    restart_clock(uow, report, resolving=True, fresh=True)
    event = ReportEvent(report_id=report.id, actor=text("actor_meeting"), created_at=uow.now,
                        note=text("event_meeting_cancelled", title=meeting.title))
    uow.session.add(event)
    uow.session.flush()
    notify.update(uow, report, event)


# --- 私事: advice, referral, mediation -------------------------------------------------------

def mediator_title(uow: Unit, community_id: int) -> str:
    return text("mediator_title", community=uow.session.get(Community, community_id).name)


@use_case
def request_mediation(uow: Unit, resident: Resident, report: Report) -> MediationCase:
    """The resident asks for the community's mediator: a case opens, the report goes back
    to work with the mediator (community staff are told) and a fresh resolve window."""
    if report.resident_id != resident.id or report.tier is not Tier.PRIVATE:
        raise Refused("mediation_none")
    if uow.session.scalar(select(MediationCase.id).where(MediationCase.report_id == report.id)):
        raise Refused("mediation_already", code=report.code)
    if report.status is not Status.REFERRED:
        raise Refused("mediation_none")
    case = MediationCase(report_id=report.id, community_id=report.community_id, requested_at=uow.now)
    uow.session.add(case)
    report.assignee_id, report.assignee_title = None, mediator_title(uow, report.community_id)
    move(uow, report, Status.IN_PROGRESS, actor=text("actor_resident"),
         note=text("event_mediation_requested"), skip_resident=resident.id)
    report.closed_at = None
    restart_clock(uow, report, resolving=True, fresh=True)
    notify.assigned_or_unassigned(uow, report)
    return case
