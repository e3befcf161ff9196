"""Grid workers and staff handling reports from chat: 接单, 进展, 办结 (with result
photos), 转派, 驳回, 转介, 合并; staff also 改级 (re-classify 大事/小事/私事).

Each command is parsed here and handed to one use case in `domain.reports.lifecycle`,
which checks who may act (the assignee, or staff of the community), writes the
change, its audit row and its pushes. After 办结 the `result` conversation
collects photos of the work: PHOTOS → 好了 / 跳过.
"""
from __future__ import annotations

import enum

from sqlalchemy import select

from bot.context import Context, Reply
from bot.conversation import Flow, done, start
from bot.inbound import Incoming
from bot.router import Router
from core.clock import local
from core.texts import TEXTS, text, vocab
from core.words import as_written, normalise
from domain.errors import Refused
from domain.reports import lifecycle, oversight, queries
from domain.reports.categories import TIER_WORDS, name_of
from domain.reports.routing import assignees, may_work
from models import Grid, Report, Status, Supervision

router = Router("report_work")
FLOW = "result"
CODE_AND_TEXT = r"BS\d{6,10}(\s+.+)?"


class Step(enum.StrEnum):
    PHOTOS = "photos"


def _load(ctx: Context, args: str, command: str, needs_text: bool = False, example: str = "",
          msg: Incoming | None = None) -> tuple[Report | None, str, Reply | None]:
    """Parse '<code> [text]', find the report and check the sender may act on it; the text
    comes back as written (from `msg`), not as normalised for matching."""
    parts = args.split(maxsplit=1)
    if not parts:
        return None, "", ctx.reply("ask_code", command=command)
    report = queries.by_code(ctx.session, parts[0])
    rest = parts[1].strip() if len(parts) > 1 else ""
    if rest and msg is not None and msg.text:
        rest = as_written(msg.text, rest)
    if report is None:
        # Same answer for someone else's report as for none: codes reveal nothing.
        return None, rest, ctx.reply("report_not_found", code=parts[0][:20])
    if not may_work(ctx.actor, report):
        return None, rest, ctx.reply("not_allowed")
    if needs_text and not rest:
        what = text(f"needs_text_{command}") if f"needs_text_{command}" in TEXTS else command
        return None, rest, ctx.reply("work_needs_text", what=what, example=example)
    return report, rest, None


def _refused(ctx: Context, refusal: Refused) -> Reply:
    return Reply(refusal.message)


@router.keyword("接单", args=r"BS\d{6,10}", staff=True)
def accept(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Accepts an assigned report."""
    report, _, problem = _load(ctx, args, "接单")
    if problem:
        return problem
    try:
        lifecycle.accept(ctx.uow, ctx.actor, report)
    except Refused as refusal:
        return _refused(ctx, refusal)
    return ctx.reply("work_accepted", code=report.code, due=local(ctx.config, report.resolve_due_at))


@router.keyword("进展", args=CODE_AND_TEXT, staff=True)
def progress(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Adds a progress note (an accepted report moves to in progress)."""
    report, note, problem = _load(ctx, args, "进展", msg=msg, needs_text=True,
                                  example="进展 BS000123 已联系物业维修")
    if problem:
        return problem
    try:
        lifecycle.progress(ctx.uow, ctx.actor, report, note)
    except Refused as refusal:
        return _refused(ctx, refusal)
    return ctx.reply("work_noted")


@router.keyword("我的工单", "工单", "待办", "有什么工单", "我的任务", staff=True)
def worklist(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """The open reports assigned to the worker, the one due soonest first."""
    rows = queries.assigned_open(ctx.session, ctx.resident)
    if not rows:
        return ctx.reply("worklist_empty")
    items = "\n".join(text("worklist_line", code=r.code, category=name_of(ctx.config, r.category),
                           status=text(f"status_{r.status.value}"),
                           due=local(ctx.config, r.resolve_due_at, "%m-%d %H:%M")) for r in rows)
    return ctx.reply("worklist", n=len(rows), items=items)


# 完成 alone stays the photo step's "done"; with a code it is 办结, as workers say it.
@router.keyword("完成", "处理完", "已处理", "搞掂", args=CODE_AND_TEXT, bare=False, staff=True)
@router.keyword("办结", args=CODE_AND_TEXT, staff=True)
def resolve(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Marks the report resolved with what was done; asks for result photos."""
    report, note, problem = _load(ctx, args, "办结", msg=msg, needs_text=True,
                                  example="办结 BS000123 路灯已更换")
    if problem:
        return problem
    try:
        lifecycle.finish(ctx.uow, ctx.actor, report, Status.RESOLVED, note)
    except Refused as refusal:
        return _refused(ctx, refusal)
    # closed now: the photos are an optional record, and the worker must not think
    # the order waits for them
    return start(ctx, FLOW, Step.PHOTOS, prefix=text("work_resolved", code=report.code),
                 report=report.id, code=report.code)


def step_result_photos(ctx: Context, msg: Incoming) -> Reply:
    """Stores result photos until 好了 / 跳过."""
    data = ctx.conversation.data
    if msg.kind == "image":
        report = ctx.session.get(Report, data["report"])
        try:
            count = lifecycle.add_result_photo(ctx.uow, ctx.actor, report, msg.media_id, msg.pic_url)
        except Refused as refusal:
            return _refused(ctx, refusal)
        return ctx.reply("photo_received", n=count)
    if normalise(msg.text or "").lower() in vocab.DONE | vocab.SKIP:
        return done(ctx, "work_resolved", code=data["code"])
    return ctx.reply("ask_result_photo")


router.flow(Flow(FLOW, "flow_result_photo", Step, {Step.PHOTOS: step_result_photos},
                 {Step.PHOTOS: lambda ctx: text("ask_result_photo")}, free_text=frozenset({Step.PHOTOS})))


@router.keyword("转派", args=CODE_AND_TEXT, staff=True)
def transfer(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Hands the report to another grid of the community, or to community staff (社区)."""
    report, who, problem = _load(ctx, args, "转派", needs_text=True, example="转派 BS000123 金宁第二网格")
    if problem:
        return problem
    target = _find_target(ctx, report, who)
    if target is None:
        return ctx.reply("transfer_target_unknown", who=who[:20])
    grid_id, assignee_id, title = target
    try:
        lifecycle.assign(ctx.uow, ctx.actor, report, grid_id=grid_id, assignee_id=assignee_id,
                         title=title)
    except Refused as refusal:
        return _refused(ctx, refusal)
    return ctx.reply("work_transferred", code=report.code, title=title)


def _find_target(ctx: Context, report: Report, who: str) -> tuple[int | None, int | None, str] | None:
    wanted = normalise(who)
    if wanted in vocab.STAFF_TARGET:
        return lifecycle.to_community_staff(ctx.uow, report)
    grids = dict(ctx.session.execute(select(Grid.id, Grid.name)
                                     .where(Grid.community_id == report.community_id)).all())
    for grid_id, resident_id, title in assignees(ctx.session, report.community_id):
        if wanted and (wanted in normalise(grids[grid_id]) or wanted in normalise(title)):
            return grid_id, resident_id, title
    return None


def _close_with(ctx: Context, msg: Incoming, args: str, command: str, to: Status, example: str) -> Reply:
    report, note, problem = _load(ctx, args, command, msg=msg, needs_text=True, example=example)
    if problem:
        return problem
    try:
        lifecycle.finish(ctx.uow, ctx.actor, report, to, note)
    except Refused as refusal:
        return _refused(ctx, refusal)
    return ctx.reply("work_closed", code=report.code, status=text(f"status_{to.value}"))


@router.keyword("驳回", args=CODE_AND_TEXT, staff=True)
def reject(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Declines a report, with the reason the reporter will read."""
    return _close_with(ctx, msg, args, "驳回", Status.REJECTED, "驳回 BS000123 不属于社区管理范围")


@router.keyword("转介", args=CODE_AND_TEXT, staff=True)
def refer(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Refers a (usually private) matter elsewhere — mediation, 12345 — and closes it with a note."""
    return _close_with(ctx, msg, args, "转介", Status.REFERRED, "转介 BS000123 请拨打12345热线")


@router.keyword("合并", args=CODE_AND_TEXT, staff=True)
def merge(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Marks a report a duplicate of another; its reporter then follows the original."""
    report, other_code, problem = _load(ctx, args, "合并", needs_text=True,
                                        example="合并 BS000124 BS000123")
    if problem:
        return problem
    original = queries.by_code(ctx.session, other_code.split()[0])
    if original is None or original.id == report.id or original.community_id != report.community_id:
        return ctx.reply("report_not_found", code=other_code.split()[0][:20])
    try:
        lifecycle.merge(ctx.uow, ctx.actor, report, original)
    except Refused as refusal:
        return _refused(ctx, refusal)
    return ctx.reply("work_closed", code=report.code, status=text("status_duplicate"))


@router.keyword("改级", "分级", args=CODE_AND_TEXT, staff=True)
def change_tier(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Staff re-classify a report as 大事, 小事 or 私事 (三事分流)."""
    report, wanted, problem = _load(ctx, args, "改级", msg=msg, needs_text=True, example="改级 BS000123 小事 楼道长可处理")
    if problem:
        return problem
    word, _, reason = wanted.partition(" ")
    tier = TIER_WORDS.get(normalise(word))
    if tier is None:
        return ctx.reply("work_needs_text", what="改级", example="改级 BS000123 小事")
    try:
        oversight.triage(ctx.uow, ctx.actor, report, tier, reason)
    except Refused as refusal:
        return _refused(ctx, refusal)
    return ctx.reply("work_tier", code=report.code, tier=text(f"tier_{tier.value}"))


@router.keyword("退单", args=CODE_AND_TEXT, staff=True)
def send_back(ctx: Context, msg: Incoming, args: str) -> Reply:
    """The assignee sends a wrong assignment back to triage, with the reason (退单)."""
    report, reason, problem = _load(ctx, args, "退单", msg=msg, needs_text=True, example="退单 BS000123 不属于本网格")
    if problem:
        return problem
    try:
        oversight.send_back(ctx.uow, ctx.actor, report, reason)
    except Refused as refusal:
        return _refused(ctx, refusal)
    return ctx.reply("work_sent_back", code=report.code)


@router.keyword("督办", args=CODE_AND_TEXT, staff=True)
def supervise(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Staff require the assignee to account for a report (督办)."""
    report, note, problem = _load(ctx, args, "督办", msg=msg, needs_text=True, example="督办 BS000123 请今天内处理")
    if problem:
        return problem
    try:
        oversight.supervise(ctx.uow, ctx.actor, report, note)
    except Refused as refusal:
        return _refused(ctx, refusal)
    return ctx.reply("work_supervised", code=report.code)


@router.keyword("回复督办", args=CODE_AND_TEXT, staff=True)
def answer_supervision(ctx: Context, msg: Incoming, args: str) -> Reply:
    """The assignee answers the open 督办 of a report."""
    report, answer, problem = _load(ctx, args, "回复督办", msg=msg, needs_text=True,
                                    example="回复督办 BS000123 已联系物业，明天更换")
    if problem:
        return problem
    ticket = ctx.session.scalar(select(Supervision).where(
        Supervision.report_id == report.id, Supervision.answered_at.is_(None)).order_by(Supervision.id))
    if ticket is None:
        return ctx.reply("supervision_none", code=report.code)
    try:
        oversight.answer_supervision(ctx.uow, ctx.actor, ticket, answer)
    except Refused as refusal:
        return _refused(ctx, refusal)
    return ctx.reply("work_supervision_answered", code=report.code)
