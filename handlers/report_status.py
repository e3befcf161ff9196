"""A resident following up their reports: 我的报事, 查询 <code>, 已解决 / 未解决 and rating.

The rating conversation (`feedback`): RATE (1-5) → COMMENT (text or 跳过) → done.
"""
from __future__ import annotations

import enum
import re

from sqlalchemy import or_, select

from bot import reports
from bot.context import Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming, normalise
from bot.outbox import enqueue, message
from bot.router import Router
from bot.texts import text
from models import Report, ReportEvent, ReportFollower, Resident, ResidentRole, Role, Status

router = Router()
CODE = re.compile(r"BS\d{6,}")
FLOW = "feedback"
LIST_SIZE = 10
TIMELINE_SIZE = 6


class Step(enum.StrEnum):
    RATE = "rate"
    COMMENT = "comment"


def _local(ctx: Context, moment, fmt: str) -> str:
    return moment.astimezone(ctx.config.tz).strftime(fmt)


def _category_name(ctx: Context, code: str) -> str:
    cat = reports.category(ctx.config, code)
    return cat.name if cat else code


@router.menu("MY_REPORTS", "menu_my_reports", order=20, group="menu_group_reports")
def my_reports(ctx: Context, msg: Incoming) -> Reply:
    """Lists the resident's latest reports (filed or followed) with their status."""
    followed = select(ReportFollower.report_id).where(ReportFollower.resident_id == ctx.resident.id)
    rows = ctx.session.execute(
        select(Report.code, Report.category, Report.status, Report.created_at)
        .where(or_(Report.resident_id == ctx.resident.id, Report.id.in_(followed)))
        .order_by(Report.created_at.desc()).limit(LIST_SIZE)).all()
    if not rows:
        return ctx.reply("my_reports_empty")
    items = "\n".join(text("my_report_line", code=r.code, category=_category_name(ctx, r.category),
                           status=text(f"status_{r.status.value}"),
                           date=_local(ctx, r.created_at, "%m-%d")) for r in rows)
    return ctx.reply("my_reports", n=len(rows), items=items)


@router.keyword("我的报事", "我的反映", "我的投诉", args=False)
def my_reports_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return my_reports(ctx, msg)


@router.keyword("查询", "查询报事", "进度", args=True)
def query(ctx: Context, msg: Incoming, args: str) -> Reply:
    """One report with its timeline; someone else's code gets the 'not found' answer."""
    code = args.split()[0] if args.split() else ""
    if not code:
        return ctx.reply("ask_code", command="查询")
    report = reports.by_code(ctx.session, code)
    if report is None or not reports.can_see(ctx.session, report, ctx.resident):
        return ctx.reply("report_not_found", code=code[:20])
    events = ctx.session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id)
                                 .order_by(ReportEvent.id.desc()).limit(TIMELINE_SIZE)).all()
    timeline = "\n".join(text("timeline_line", time=_local(ctx, e.created_at, "%m-%d %H:%M"),
                              what=_event_text(e)) for e in reversed(events))
    return ctx.reply("report_detail", code=report.code, category=_category_name(ctx, report.category),
                     status=text(f"status_{report.status.value}"), description=report.description,
                     handler=report.assignee_title, timeline=timeline)


def _event_text(event: ReportEvent) -> str:
    status = text(f"status_{event.to_status.value}") if event.to_status else ""
    return "，".join(part for part in (status, event.note or "") if part)


def _awaiting(ctx: Context, args: str) -> Report | None:
    """The resident's resolved report named in `args`, else their latest resolved one."""
    query_ = select(Report).where(Report.resident_id == ctx.resident.id,
                                  Report.status == Status.RESOLVED)
    code = args.split()[0].upper() if args.split() else ""
    if CODE.fullmatch(code):
        query_ = query_.where(Report.code == code)
    return ctx.session.scalars(query_.order_by(Report.resolved_at.desc())).first()


@router.keyword("已解决", "解决了", args=True)
def solved(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Closes the resolved report and asks for a 1-5 rating."""
    report = _awaiting(ctx, args)
    if report is None:
        return ctx.reply("no_report_awaiting")
    reports.transition(ctx.session, report, Status.CLOSED, actor=text("actor_resident"),
                       note=text("event_confirmed_solved"), now=ctx.now,
                       skip_resident=ctx.resident.id)
    ctx.conversation.start(FLOW, Step.RATE, report=report.id)
    return ctx.reply("ask_rating")


@router.keyword("未解决", "没解决", "没有解决", args=True)
def not_solved(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Reopens the report and escalates it to community staff."""
    report = _awaiting(ctx, args)
    if report is None:
        return ctx.reply("no_report_awaiting")
    reports.transition(ctx.session, report, Status.IN_PROGRESS, actor=text("actor_resident"),
                       note=text("event_not_solved"), now=ctx.now, skip_resident=ctx.resident.id)
    report.escalation = 2
    escalate_to_staff(ctx.session, ctx.config, report, text("event_not_solved"))
    return ctx.reply("reopened", code=report.code)


def escalate_to_staff(session, config, report: Report, what: str) -> None:
    """Tell the community's staff (residents holding the staff role there)."""
    staff = session.scalars(select(Resident.id).join(ResidentRole).where(
        Resident.community_id == report.community_id, ResidentRole.role.in_([Role.STAFF, Role.ADMIN]),
        Resident.followed.is_(True)))
    cat = reports.category(config, report.category)
    body = text("push_escalated", code=report.code, category=cat.name if cat else report.category,
                what=what, handler=report.assignee_title)
    for staff_id in staff:
        enqueue(session, staff_id, "report_escalated", message(body, {"code": report.code}),
                f"report:{report.id}:escalated:{report.escalation}:{report.updated_at:%Y%m%d%H%M}:{staff_id}",
                urgent=False)


def step_rate(ctx: Context, msg: Incoming) -> Reply:
    """Stores a 1-5 rating; asks for an optional comment."""
    answer = normalise(msg.text or "")
    if not (answer.isdigit() and 1 <= int(answer) <= 5):
        return ctx.reply("bad_rating")
    report = ctx.session.get(Report, ctx.conversation.data["report"])
    report.rating = int(answer)
    ctx.conversation.goto(Step.COMMENT)
    return ctx.reply("ask_comment")


def step_comment(ctx: Context, msg: Incoming) -> Reply:
    """Stores the comment (or none on 跳过) and thanks the resident."""
    report = ctx.session.get(Report, ctx.conversation.data["report"])
    comment = (msg.text or "").strip()
    if comment and normalise(comment) != text("skip_words"):
        report.rating_comment = comment[:200]
    ctx.conversation.clear()
    return ctx.reply("thanks_feedback", code=report.code)


router.flow(Flow(FLOW, "flow_feedback", {Step.RATE: step_rate, Step.COMMENT: step_comment},
                 {Step.RATE: lambda ctx: text("ask_rating"), Step.COMMENT: lambda ctx: text("ask_comment")}))
