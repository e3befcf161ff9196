"""A resident following up their reports: 我的报事, 查询 <code>, 已解决 / 未解决 and rating.

The rating conversation (`feedback`): RATE (1-5) → COMMENT (text or 跳过) → done.
"""
from __future__ import annotations

import enum
import re

from sqlalchemy import select

from bot.context import Context, Reply
from bot.conversation import Flow, ask, done, reask, start
from bot.inbound import Incoming
from bot.router import Router
from bot.understanding import recognizer, stars
from core.clock import local
from core.texts import text, vocab
from core.words import normalise
from domain.errors import Refused
from domain.reports import lifecycle, paths, queries
from domain.reports.categories import name_of
from handlers.registration import registered_first
from models import Report, ReportEvent, Status, Tier

router = Router("report_status")
FLOW = "feedback"
CODE = r"BS\d{6,10}"
CODE_IN_WORDS = re.compile(CODE, re.IGNORECASE)


class Step(enum.StrEnum):
    RATE = "rate"
    COMMENT = "comment"


@router.menu("MY_REPORTS", "menu_my_reports", order=20, group="menu_group_reports")
def my_reports(ctx: Context, msg: Incoming) -> Reply:
    """Lists the resident's latest reports (filed or followed) with their status."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    rows = queries.mine(ctx.session, ctx.resident)
    if not rows:
        return ctx.reply("my_reports_empty")
    items = "\n".join(text("my_report_line", code=r.code, category=name_of(ctx.config, r.category),
                           status=text(f"status_{r.status.value}"),
                           date=local(ctx.config, r.created_at, "%m-%d")) for r in rows)
    return ctx.reply("my_reports", n=len(rows), items=items)


@router.keyword("我的反映", "我的投诉")
def my_reports_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return my_reports(ctx, msg)


@router.intent("my_reports")
def my_reports_asked(ctx: Context, msg: Incoming) -> Reply:
    """"进展 BS000123 怎么样了" from a resident: that report; without a code, the list."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    code = CODE_IN_WORDS.search(normalise(msg.text or ""))
    return query(ctx, msg, code.group(0).upper()) if code else my_reports(ctx, msg)


@router.fallback
def feedback_in_words(ctx: Context, msg: Incoming) -> Reply | None:
    """"没修好，还是不亮" / "修好了" while a resolved report awaits the resident's answer."""
    said = recognizer(ctx.config).feedback(msg.text or "")
    if said is None or ctx.resident is None or ctx.resident.registered_at is None:
        return None
    report = _awaiting(ctx, "")
    if report is None:
        return None
    return solved(ctx, msg, report.code) if said == "solved" else not_solved(ctx, msg, report.code)


@router.keyword("查询", "查询报事", "进度", args=CODE)
def query(ctx: Context, msg: Incoming, args: str) -> Reply:
    """One report with its timeline; someone else's code gets the 'not found' answer."""
    if not args:
        return ctx.reply("ask_code", command="查询")
    report = queries.by_code(ctx.session, args)
    if report is None or not queries.can_see(ctx.session, report, ctx.resident):
        return ctx.reply("report_not_found", code=args[:20])
    timeline = "\n".join(text("timeline_line", time=local(ctx.config, e.created_at, "%m-%d %H:%M"),
                              what=_event_text(e)) for e in queries.timeline(ctx.session, report))
    return ctx.reply("report_detail", code=report.code, category=name_of(ctx.config, report.category),
                     status=text(f"status_{report.status.value}"), description=report.description,
                     handler=report.assignee_title, timeline=timeline)


def _event_text(event: ReportEvent) -> str:
    status = text(f"status_{event.to_status.value}") if event.to_status else ""
    return "，".join(part for part in (status, event.note or "") if part)


def _awaiting(ctx: Context, args: str) -> Report | None:
    """The resident's resolved report named in `args`, else their latest resolved one."""
    query_ = select(Report).where(Report.resident_id == ctx.resident.id,
                                  Report.status == Status.RESOLVED)
    if args:
        query_ = query_.where(Report.code == args.upper())
    return ctx.session.scalars(query_.order_by(Report.resolved_at.desc())).first()


@router.keyword("已解决", "解决了", args=CODE)
def solved(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Closes the resolved report and asks for a 1-5 rating."""
    report = _awaiting(ctx, args)
    if report is None:
        return ctx.reply("no_report_awaiting")
    lifecycle.confirm_solved(ctx.uow, ctx.resident, report)
    return start(ctx, FLOW, Step.RATE, report=report.id)


@router.keyword("未解决", "没解决", "没有解决", args=CODE)
def not_solved(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Reopens the report and escalates it to community staff."""
    report = _awaiting(ctx, args)
    if report is None:
        return ctx.reply("no_report_awaiting")
    lifecycle.reopen(ctx.uow, ctx.resident, report)
    return ctx.reply("reopened", code=report.code)


@router.keyword("调解", "申请调解", "要调解", args=CODE)
def mediation(ctx: Context, msg: Incoming, args: str) -> Reply:
    """A resident asks the community's mediator to help with their private matter (私事)."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    wanted = select(Report).where(Report.resident_id == ctx.resident.id, Report.tier == Tier.PRIVATE)
    if args:
        wanted = wanted.where(Report.code == args.upper())
    report = ctx.session.scalars(wanted.order_by(Report.created_at.desc())).first()
    if report is None:
        return ctx.reply("mediation_none")
    try:
        paths.request_mediation(ctx.uow, ctx.resident, report)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("mediation_opened", code=report.code, handler=report.assignee_title,
                     due=local(ctx.config, report.resolve_due_at))


def step_rate(ctx: Context, msg: Incoming) -> Reply:
    """Stores a 1-5 rating; asks for an optional comment."""
    rating = stars(msg.text)
    if rating is None:
        return reask(ctx, "bad_rating")
    report = ctx.session.get(Report, ctx.conversation.data["report"])
    lifecycle.rate(ctx.uow, ctx.resident, report, rating)
    return ask(ctx, Step.COMMENT)


def step_comment(ctx: Context, msg: Incoming) -> Reply:
    """Stores the comment (or none on 跳过) and thanks the resident."""
    report = ctx.session.get(Report, ctx.conversation.data["report"])
    words = (msg.text or "").strip()
    if words and normalise(words) not in vocab.SKIP:
        lifecycle.comment(ctx.uow, ctx.resident, report, words)
    return done(ctx, "thanks_feedback_low" if report.rating and report.rating <= 2 else "thanks_feedback",
                code=report.code)


router.flow(Flow(FLOW, "flow_feedback", Step, {Step.RATE: step_rate, Step.COMMENT: step_comment},
                 {Step.RATE: lambda ctx: text("ask_rating"), Step.COMMENT: lambda ctx: text("ask_comment")},
                 free_text=frozenset({Step.COMMENT})))
