"""Grid workers and staff handling reports from chat: 接单, 进展, 办结 (with result
photos), 转派, 驳回, 转介, 合并; staff also 改级 (re-classify 大事/小事/私事).

Only the report's assignee, or community staff/admins of its community, may act;
anyone else gets a polite refusal and nothing changes. After 办结 the `result`
conversation collects photos of the work: PHOTOS → 好了 / 跳过.
"""
from __future__ import annotations

from sqlalchemy import select

from bot import reports
from bot.context import Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming, normalise
from bot.router import Router
from bot.texts import text
from models import Grid, Report, ReportPhoto, Role, Status

router = Router()
FLOW = "result"
PHOTOS = "photos"
MAX_RESULT_PHOTOS = 9


def _actor(ctx: Context) -> str:
    return ctx.resident.name or text("role_grid_worker")


def _load(ctx: Context, args: str, command: str, needs_text: bool = False,
          example: str = "") -> tuple[Report | None, str, Reply | None]:
    """Parse '<code> [text]', find the report and check the sender may act on it."""
    parts = args.split(maxsplit=1)
    if not parts:
        return None, "", ctx.reply("ask_code", command=command)
    report = reports.by_code(ctx.session, parts[0])
    rest = parts[1].strip() if len(parts) > 1 else ""
    if report is None:
        # Same answer for someone else's report as for none: codes reveal nothing.
        return None, rest, ctx.reply("report_not_found", code=parts[0][:20])
    if not _may_act(ctx, report):
        return None, rest, ctx.reply("not_allowed")
    if needs_text and not rest:
        return None, rest, ctx.reply("work_needs_text", what=command, example=example)
    return report, rest, None


def _may_act(ctx: Context, report: Report) -> bool:
    resident = ctx.resident
    if report.assignee_id == resident.id:
        return True
    staff = resident.has_role(Role.STAFF, Role.ADMIN)
    return staff and (resident.community_id == report.community_id or resident.has_role(Role.ADMIN))


def _refused(ctx: Context, report: Report) -> Reply:
    return ctx.reply("work_bad_state", code=report.code, status=text(f"status_{report.status.value}"))


@router.keyword("接单", args=True)
def accept(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Accepts an assigned report."""
    report, _, problem = _load(ctx, args, "接单")
    if problem:
        return problem
    try:
        reports.transition(ctx.session, report, Status.ACCEPTED, actor=_actor(ctx), note=None,
                           now=ctx.now)
    except reports.ReportError:
        return _refused(ctx, report)
    report.escalation = 0  # the resolve deadline starts its own reminders
    hours = max(0, round((report.resolve_due_at - ctx.now).total_seconds() / 3600))
    return ctx.reply("work_accepted", code=report.code, hours=hours)


@router.keyword("进展", args=True)
def progress(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Adds a progress note (an accepted report moves to in progress)."""
    report, note, problem = _load(ctx, args, "进展", needs_text=True,
                                  example="进展 BS000123 已联系物业维修")
    if problem:
        return problem
    try:
        if report.status in (Status.SUBMITTED, Status.ACCEPTED):
            reports.transition(ctx.session, report, Status.IN_PROGRESS, actor=_actor(ctx),
                               note=note[:500], now=ctx.now)
        else:
            reports.add_note(ctx.session, report, actor=_actor(ctx), note=note[:500], now=ctx.now)
    except reports.ReportError:
        return _refused(ctx, report)
    return ctx.reply("work_noted")


@router.keyword("办结", args=True)
def resolve(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Marks the report resolved with what was done; asks for result photos."""
    report, note, problem = _load(ctx, args, "办结", needs_text=True,
                                  example="办结 BS000123 路灯已更换")
    if problem:
        return problem
    try:
        reports.transition(ctx.session, report, Status.RESOLVED, actor=_actor(ctx),
                           note=note[:500], now=ctx.now)
    except reports.ReportError:
        return _refused(ctx, report)
    ctx.conversation.start(FLOW, PHOTOS, report=report.id, code=report.code, count=0)
    return ctx.reply("ask_result_photo")


def step_result_photos(ctx: Context, msg: Incoming) -> Reply:
    """Stores result photos until 好了 / 跳过."""
    data = ctx.conversation.data
    if msg.kind == "image":
        if data["count"] >= MAX_RESULT_PHOTOS:
            return ctx.reply("too_many_photos", limit=MAX_RESULT_PHOTOS)
        ctx.session.add(ReportPhoto(report_id=data["report"], media_id=msg.media_id,
                                    pic_url=msg.pic_url, purpose="result", created_at=ctx.now))
        ctx.conversation.goto(PHOTOS, count=data["count"] + 1)
        return ctx.reply("photo_received", n=data["count"] + 1)
    if normalise(msg.text or "") in ("好了", "好", "完成", "跳过", "ok"):
        ctx.conversation.clear()
        return ctx.reply("work_resolved", code=data["code"])
    return ctx.reply("ask_result_photo")


router.flow(Flow(FLOW, "flow_result_photo", {PHOTOS: step_result_photos},
                 {PHOTOS: lambda ctx: text("ask_result_photo")}))


@router.keyword("转派", args=True)
def transfer(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Hands the report to another grid of the community, or to community staff (社区)."""
    report, who, problem = _load(ctx, args, "转派", needs_text=True, example="转派 BS000123 金宁第二网格")
    if problem:
        return problem
    if report.status not in (Status.SUBMITTED, Status.ACCEPTED, Status.IN_PROGRESS):
        return _refused(ctx, report)
    target = _find_target(ctx, report, who)
    if target is None:
        return ctx.reply("transfer_target_unknown", who=who[:20])
    grid_id, assignee_id, title = target
    reports.assign(ctx.session, ctx.config, report, grid_id=grid_id, assignee_id=assignee_id,
                   title=title, actor=_actor(ctx), now=ctx.now)
    return ctx.reply("work_transferred", code=report.code, title=title)


def _find_target(ctx: Context, report: Report, who: str) -> tuple[int | None, int | None, str] | None:
    wanted = normalise(who)
    if wanted in ("社区", "社区工作人员", "居委会"):
        _, _, title = reports.route(ctx.session, report.community_id, None)
        return None, None, title
    grids = dict(ctx.session.execute(select(Grid.id, Grid.name)
                                     .where(Grid.community_id == report.community_id)).all())
    for grid_id, resident_id, title in reports.assignees(ctx.session, report.community_id):
        if wanted and (wanted in normalise(grids[grid_id]) or wanted in normalise(title)):
            return grid_id, resident_id, title
    return None


def _close_with(ctx: Context, args: str, command: str, to: Status, example: str) -> Reply:
    report, note, problem = _load(ctx, args, command, needs_text=True, example=example)
    if problem:
        return problem
    try:
        reports.transition(ctx.session, report, to, actor=_actor(ctx), note=note[:500], now=ctx.now)
    except reports.ReportError:
        return _refused(ctx, report)
    return ctx.reply("work_closed", code=report.code, status=text(f"status_{to.value}"))


@router.keyword("驳回", args=True)
def reject(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Declines a report, with the reason the reporter will read."""
    return _close_with(ctx, args, "驳回", Status.REJECTED, "驳回 BS000123 不属于社区管理范围")


@router.keyword("转介", args=True)
def refer(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Refers a (usually private) matter elsewhere — mediation, 12345 — and closes it with a note."""
    return _close_with(ctx, args, "转介", Status.REFERRED, "转介 BS000123 请拨打12345热线")


@router.keyword("合并", args=True)
def merge(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Marks a report a duplicate of another; its reporter then follows the original."""
    report, other_code, problem = _load(ctx, args, "合并", needs_text=True,
                                        example="合并 BS000124 BS000123")
    if problem:
        return problem
    original = reports.by_code(ctx.session, other_code.split()[0])
    if original is None or original.id == report.id or original.community_id != report.community_id:
        return ctx.reply("report_not_found", code=other_code.split()[0][:20])
    try:
        reports.merge(ctx.session, report, original, actor=_actor(ctx), now=ctx.now)
    except reports.ReportError:
        return _refused(ctx, report)
    return ctx.reply("work_closed", code=report.code, status=text("status_duplicate"))


@router.keyword("改级", "分级", args=True)
def change_tier(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Staff re-classify a report as 大事, 小事 or 私事 (三事分流)."""
    report, wanted, problem = _load(ctx, args, "改级", needs_text=True, example="改级 BS000123 小事")
    if problem:
        return problem
    if not ctx.resident.has_role(Role.STAFF, Role.ADMIN):
        return ctx.reply("not_allowed")
    tier = reports.TIERS.get(normalise(wanted))
    if tier is None:
        return ctx.reply("work_needs_text", what="改级", example="改级 BS000123 小事")
    reports.retier(ctx.session, report, tier, actor=_actor(ctx), now=ctx.now)
    return ctx.reply("work_tier", code=report.code, tier=text(f"tier_{tier.value}"))

