"""Who hears about a report: the reporter and followers, the assignee, community staff."""
from __future__ import annotations

from sqlalchemy import select

from core.clock import local
from core.outbox import message
from core.texts import text
from domain.reports.categories import name_of
from domain.reports.routing import community_staff
from domain.unit import Unit
from models import Building, Report, ReportEvent, ReportFollower, Status

KIND = "report_status"


def staff_of(uow: Unit, community_id: int) -> list[int]:
    """The community's staff who follow the account (asked once per sweep)."""
    return uow.remember(("staff", community_id), lambda: community_staff(uow.session, community_id))


def audience(uow: Unit, report: Report) -> list[int]:
    """The reporter and everyone who +1-ed, once each."""
    followers = uow.session.scalars(select(ReportFollower.resident_id)
                                    .where(ReportFollower.report_id == report.id))
    ids = ([report.resident_id] if report.resident_id else []) + list(followers)
    return list(dict.fromkeys(ids))


def update(uow: Unit, report: Report, event: ReportEvent, skip_resident: int | None = None) -> None:
    """One push per reporter/follower for this timeline event."""
    status = text(f"status_{report.status.value}")
    body = text("push_report_update", code=report.code, status=status,
                note=f"\n{event.note}" if event.note else "")
    if event.to_status is Status.RESOLVED:
        body += "\n" + text("ask_solved", code=report.code)
    payload = message(body, {"code": report.code, "category": name_of(uow.config, report.category),
                             "status": status, "note": event.note or status, "time": event.created_at})
    for resident_id in audience(uow, report):
        if resident_id != skip_resident:
            uow.push(resident_id, KIND, payload, f"report:{report.id}:event:{event.id}:{resident_id}")


def assigned(uow: Unit, report: Report, assignee_id: int, key: str) -> None:
    """The new owner hears what, where and by when to accept."""
    name = name_of(uow.config, report.category)
    building = uow.session.get(Building, report.building_id) if report.building_id else None
    where = f"（{building.name}）" if building else (f"（{report.address[:20]}）" if report.address else "")
    uow.push(assignee_id, "report_assigned", message(
        text("push_assigned", code=report.code, category=name, description=report.description[:40],
             where=where, due=local(uow.config, report.accept_due_at)),
        {"code": report.code, "category": name, "status": text("phrase_assigned"),
         "time": report.accept_due_at}), key)  # a new assignment's deadline is to accept it


def assigned_or_unassigned(uow: Unit, report: Report) -> None:
    """The assignee is told; a report nobody could be assigned goes to every staff member
    of the community (and shows on the dashboard as unassigned), never silently."""
    stamp = f"{uow.now:%Y%m%d%H%M%S}"
    if report.assignee_id is not None:
        assigned(uow, report, report.assignee_id, f"report:{report.id}:assigned:{report.assignee_id}:{stamp}")
        return
    for staff_id in staff_of(uow, report.community_id):
        assigned(uow, report, staff_id, f"report:{report.id}:staff:{staff_id}:{stamp}")


def escalated(uow: Unit, report: Report, why: str) -> None:
    body = text("push_escalated", code=report.code, category=name_of(uow.config, report.category),
                why=why, handler=report.assignee_title)
    stamp = f"{uow.now:%Y%m%d%H%M}"
    for staff_id in staff_of(uow, report.community_id):
        uow.push(staff_id, "report_escalated", message(body, {
            "code": report.code, "category": name_of(uow.config, report.category),
            "status": text("phrase_overdue"), "time": report.resolve_due_at}),
                 f"report:{report.id}:escalated:{report.escalation}:{stamp}:{staff_id}")
