"""Running work orders as 12345 hotlines do: triage (三事分流), the clock's warning and
escalation, take-over of 小事 nobody accepted, 退单 (send back), 督办 (supervision) and
回访 (return visits)."""
from __future__ import annotations

from core.clock import local
from core.outbox import message
from core.texts import text
from core.words import clip
from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.reports import notify
from domain.reports.categories import name_of
from domain.reports.lifecycle import (
    WARNED,
    escalate,
    move,
    record_change,
    restart_clock,
)
from domain.reports.routing import (
    grid_worker,
    may_work,
    route,
    staff_title,
)
from domain.reports.visits import OUTCOMES
from domain.unit import Unit, use_case
from models import (
    OPEN_STATUSES,
    Report,
    ReportEvent,
    Resident,
    ReturnVisit,
    Role,
    Status,
    Supervision,
    Tier,
)

MAX_REASON = 200


def _event(uow: Unit, report: Report, actor: str, note: str) -> None:
    uow.session.add(ReportEvent(report_id=report.id, actor=actor[:64], note=clip(note, 500),
                                created_at=uow.now))


# --- 三事分流 ------------------------------------------------------------------------------

@use_case
def triage(uow: Unit, actor: Actor, report: Report, tier: Tier, reason: str | None = None) -> Report:
    """Staff (or the grid worker, where config allows) confirm or change the tier
    (大事/小事/私事), saying why; a new report then takes that tier's path (routing.route)."""
    if not (actor.is_staff_of(report.community_id) or uow.config.reports.grid_worker_triage
            and actor.works_grid(report.grid_id)):
        raise Refused("not_allowed")
    before = report.tier.value
    if report.tier is Tier.PRIVATE and tier is not Tier.PRIVATE \
            and report.status is Status.REFERRED:  # not a private matter after all: back to work
        report.status, report.closed_at = Status.SUBMITTED, None
        restart_clock(uow, report, resolving=False, fresh=True)
    report.tier, report.updated_at = tier, uow.now
    report.triaged_by, report.triage_reason = actor.display[:64], clip(reason, MAX_REASON)
    if report.status is Status.SUBMITTED:
        grid_id, assignee_id, title = route(uow.session, report.community_id, report.building_id, tier,
                                            report.grid_id)
        if assignee_id != report.assignee_id or title != report.assignee_title:
            # A new owner: told, and given a whole accept window of their own.
            report.grid_id, report.assignee_id, report.assignee_title = grid_id, assignee_id, title
            restart_clock(uow, report, resolving=False, fresh=True)
            notify.assigned_or_unassigned(uow, report)
    _event(uow, report, actor.display, text("event_tier", tier=text(f"tier_{tier.value}"))
           + (f"（{reason.strip()}）" if reason and reason.strip() else ""))
    record_change(uow, actor, "report_tier", report, {"tier": before},
           {"tier": tier.value, "reason": report.triage_reason})
    return report


# --- the clock: warning, escalation, take-over ---------------------------------------------

def warn(uow: Unit, report: Report) -> None:
    """临期预警: the assignee hears that the window is closing."""
    report.escalation = WARNED
    accepting = report.status is Status.SUBMITTED
    due = report.accept_due_at if accepting else report.resolve_due_at
    report.next_check_at = due
    what = text("sla_accept" if accepting else "sla_resolve")
    name = name_of(uow.config, report.category)
    body = message(text("push_sla_warning", code=report.code, category=name, what=what,
                        due=local(uow.config, due)),
                   {"code": report.code, "category": name, "time": due,
                    "status": text("phrase_accept_due" if accepting else "phrase_resolve_due")})
    # The assignee, or (a report community staff own) every staff member of the community.
    for person in [report.assignee_id] if report.assignee_id else notify.staff_of(uow, report.community_id):
        uow.push(person, "report_reminder", body, f"report:{report.id}:warn:{due:%Y%m%d%H%M}:{person}")


def overdue(uow: Unit, report: Report) -> None:
    """The window is over: a 小事 nobody on the building accepted passes to the grid worker;
    anything else escalates to community staff."""
    head_missed = report.status is Status.SUBMITTED and report.tier is Tier.SMALL \
        and report.grid_id is not None and report.assignee_id is not None \
        and _is_building_head(uow, report.assignee_id)
    worker = uow.remember(("grid_worker", report.grid_id),
                          lambda: grid_worker(uow.session, report.grid_id)) if head_missed else None
    if worker is not None:
        report.assignee_id, report.assignee_title = worker.resident_id, worker.title
        _event(uow, report, text("actor_system"), text("event_taken_over", title=worker.title))
        notify.assigned(uow, report, worker.resident_id,
                        f"report:{report.id}:taken-over:{worker.resident_id}")
        restart_clock(uow, report, resolving=False, fresh=True)
        return
    escalate(uow, report, text("escalate_overdue",
                               what=text("sla_accept" if report.status is Status.SUBMITTED else "sla_resolve")))
    report.next_check_at = None


def _is_building_head(uow: Unit, resident_id: int) -> bool:
    def look_up() -> bool:
        resident = uow.session.get(Resident, resident_id)
        return resident is not None and resident.has_role(Role.BUILDING_HEAD) and not resident.has_role(
            Role.GRID_WORKER, Role.STAFF, Role.ADMIN)
    return uow.remember(("building_head", resident_id), look_up)


# --- 退单: the assignee sends a wrong assignment back ---------------------------------------

@use_case
def send_back(uow: Unit, actor: Actor, report: Report, reason: str) -> Report:
    """Back to triage with a reason: community staff own it again, with a fresh accept window."""
    if not may_work(actor, report) or actor.is_staff_of(report.community_id) and \
            actor.resident_id != report.assignee_id:
        raise Refused("not_allowed")
    reason = (reason or "").strip()
    if not reason:
        raise Refused("send_back_needs_reason")
    if report.status is not Status.SUBMITTED and report.status is not Status.ACCEPTED:
        raise Refused("work_bad_state", code=report.code, status=text(f"status_{report.status.value}"))
    before = {"assignee": report.assignee_title, "status": report.status.value}
    # Back to 已提交 (an accepted report is un-accepted): the timeline shows the step.
    uow.session.add(ReportEvent(report_id=report.id, actor=actor.display[:64], from_status=report.status,
                                to_status=Status.SUBMITTED, created_at=uow.now,
                                note=text("event_sent_back", reason=clip(reason, MAX_REASON))))
    report.status, report.accepted_at = Status.SUBMITTED, None
    report.assignee_id, report.assignee_title = None, staff_title(uow.session, report.community_id)
    report.triaged_by = report.triage_reason = None
    restart_clock(uow, report, resolving=False, fresh=True)
    notify.assigned_or_unassigned(uow, report)
    record_change(uow, actor, "report_send_back", report, before,
           {"assignee": report.assignee_title, "reason": clip(reason, MAX_REASON)})
    return report


# --- 督办: staff require an account of an overdue report -----------------------------------

@use_case
def supervise(uow: Unit, actor: Actor, report: Report, note: str) -> Supervision:
    if not actor.is_staff_of(report.community_id):
        raise Refused("not_allowed")
    if report.status not in OPEN_STATUSES:
        raise Refused("work_bad_state", code=report.code, status=text(f"status_{report.status.value}"))
    note = (note or "").strip()
    if not note:
        raise Refused("supervise_needs_note")
    ticket = Supervision(report_id=report.id, raised_by=actor.display[:64], note=clip(note, 500),
                         raised_at=uow.now)
    uow.session.add(ticket)
    uow.session.flush()
    _event(uow, report, actor.display, text("event_supervised", note=clip(note, 100)))
    if report.assignee_id is not None:
        uow.push(report.assignee_id, "report_escalated", message(
            text("push_supervised", code=report.code, note=clip(note, 100)),
            {"code": report.code, "category": name_of(uow.config, report.category),
             "status": text("phrase_supervised"), "time": uow.now}), f"supervision:{ticket.id}")
    audit.record(uow, actor, "report_supervise", f"report:{report.id}", after={"note": ticket.note})
    return ticket


@use_case
def answer_supervision(uow: Unit, actor: Actor, ticket: Supervision, answer: str) -> Supervision:
    """The assignee (or staff) says what was done; the ticket is closed."""
    report = uow.session.get(Report, ticket.report_id)
    if not may_work(actor, report):
        raise Refused("not_allowed")
    if ticket.answered_at is not None:
        raise Refused("supervision_answered")
    answer = (answer or "").strip()
    if not answer:
        raise Refused("supervise_needs_note")
    ticket.answer, ticket.answered_by, ticket.answered_at = clip(answer, 500), actor.display[:64], uow.now
    _event(uow, report, actor.display, text("event_supervision_answered", answer=clip(answer, 100)))
    audit.record(uow, actor, "report_supervision_answer", f"supervision:{ticket.id}",
                 after={"answer": ticket.answer})
    return ticket


# --- 回访: the outcome of a return visit ----------------------------------------------------

@use_case
def record_visit(uow: Unit, actor: Actor, visit: ReturnVisit, outcome: str, note: str | None) -> ReturnVisit:
    """satisfied / explained close the visit; reopened puts the report back to work."""
    if not actor.is_staff_of(visit.community_id):
        raise Refused("not_allowed")
    if outcome not in OUTCOMES:
        raise Refused("visit_bad_outcome")
    if visit.outcome is not None:
        raise Refused("visit_done")
    report = uow.session.get(Report, visit.report_id)
    visit.outcome, visit.note = outcome, clip(note, 500)
    visit.done_by, visit.done_at = actor.display[:64], uow.now
    if outcome == "reopened" and report.status in (Status.RESOLVED, Status.CLOSED):
        if report.status is Status.CLOSED:
            report.status = Status.RESOLVED  # closed → back to work goes through resolved
        move(uow, report, Status.IN_PROGRESS, actor=actor.display, note=text("event_visit_reopened"))
        report.closed_at = None
        restart_clock(uow, report, resolving=True, fresh=True)
    _event(uow, report, actor.display, text(f"event_visit_{outcome}"))
    audit.record(uow, actor, "report_return_visit", f"report:{report.id}",
                 after={"outcome": outcome, "note": visit.note})
    return visit
