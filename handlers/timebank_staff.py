"""Staff run the time bank from chat: 审核 / 通过 / 驳回 / 全部通过, 代录 for volunteers
without phones, 调整 with a reason, 兑现 / 取消兑换, 发放 from the pool. Every action is
audited (who, when, what, before/after)."""
from __future__ import annotations

import re

from sqlalchemy import select

from bot import audit, timebank as tb
from bot.context import Context, Reply
from bot.inbound import Incoming
from bot.router import Router
from bot.texts import text
from bot.timebank_input import parse_date, parse_duration, parse_signed_duration
from handlers.registration import MOBILE_RE
from models import (ApplicationStatus, RecordStatus, Redemption, Resident, Role,
                    ServiceRecord, VolunteerApplication)

router = Router()


def _staff(ctx: Context) -> str | None:
    """The actor label when the sender is staff (else None)."""
    if ctx.resident.has_role(Role.STAFF, Role.ADMIN):
        return f"staff:{ctx.resident.name or ctx.resident.id}"
    return None


def _pending(ctx: Context):
    records = ctx.session.scalars(select(ServiceRecord).where(
        ServiceRecord.community_id == ctx.resident.community_id,
        ServiceRecord.status == RecordStatus.PENDING).order_by(ServiceRecord.id).limit(20)).all()
    applications = ctx.session.execute(select(VolunteerApplication, Resident).join(Resident).where(
        Resident.community_id == ctx.resident.community_id,
        VolunteerApplication.status == ApplicationStatus.PENDING)
        .order_by(VolunteerApplication.id).limit(20)).all()
    return records, applications


@router.keyword("审核")
def review(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """Lists pending service records and volunteer applications of the community."""
    if _staff(ctx) is None:
        return ctx.reply("not_allowed")
    records, applications = _pending(ctx)
    if not records and not applications:
        return ctx.reply("tb_review_empty")
    lines = [text("tb_review_record", id=r.id, name=_name(ctx, r.volunteer_id), type=r.service_type,
                  day=f"{r.service_date:%m-%d}", hours=tb.hours(r.minutes),
                  who=f"｜{r.beneficiary_name}" if r.beneficiary_name else "") for r in records]
    lines += [text("tb_review_application", id=a.id, name=p.name or p.id, skills=a.skills,
                   availability=a.availability) for a, p in applications]
    return ctx.reply("tb_review_list", items="\n".join(lines))


def _name(ctx: Context, resident_id: int) -> str:
    return ctx.session.scalar(select(Resident.name).where(Resident.id == resident_id)) or str(resident_id)


def _target(ctx: Context, code: str):
    code = code.upper()
    if m := re.fullmatch(r"S(\d+)", code):
        record = ctx.session.get(ServiceRecord, int(m.group(1)))
        if record and record.community_id == ctx.resident.community_id \
                and record.status is RecordStatus.PENDING:
            return record
    if m := re.fullmatch(r"A(\d+)", code):
        application = ctx.session.get(VolunteerApplication, int(m.group(1)))
        owner = ctx.session.get(Resident, application.resident_id) if application else None
        if application and owner and owner.community_id == ctx.resident.community_id \
                and application.status is ApplicationStatus.PENDING:
            return application
    return None


@router.keyword("通过", "批准", args=True)
def approve(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Approve a service record (hours credited) or a volunteer application (role granted)."""
    actor = _staff(ctx)
    if actor is None:
        return ctx.reply("not_allowed")
    code = (args.split() or [""])[0]
    target = _target(ctx, code)
    if target is None:
        return ctx.reply("tb_review_unknown", code=code[:12] or "—")
    if isinstance(target, ServiceRecord):
        tb.approve(ctx.session, ctx.config, target, actor, ctx.now)
        audit.record(ctx.session, actor, "approve_record", f"record:{target.id}",
                 {"status": "pending"}, {"status": "approved", "minutes": target.minutes})
    else:
        tb.decide_application(ctx.session, target, True, actor, ctx.now)
        audit.record(ctx.session, actor, "approve_volunteer", f"application:{target.id}",
                 {"status": "pending"}, {"status": "approved"})
    return ctx.reply("tb_review_done", code=code.upper())


@router.keyword("驳回", "谢绝", args=True)
def reject(ctx: Context, msg: Incoming, args: str) -> Reply | None:
    """Reject with a reason (pushed to the volunteer). Report codes are left to 驳回 of reports."""
    parts = args.split(maxsplit=1)
    if not parts or not re.fullmatch(r"[SsAa]\d+", parts[0]):
        from handlers import report_work
        return report_work.reject(ctx, msg, args)
    actor = _staff(ctx)
    if actor is None:
        return ctx.reply("not_allowed")
    if len(parts) < 2:
        return ctx.reply("tb_need_reason")
    target = _target(ctx, parts[0])
    if target is None:
        return ctx.reply("tb_review_unknown", code=parts[0][:12])
    if isinstance(target, ServiceRecord):
        tb.reject(ctx.session, target, actor, parts[1], ctx.now)
    else:
        tb.decide_application(ctx.session, target, False, actor, ctx.now, parts[1])
    audit.record(ctx.session, actor, "reject", parts[0].upper(), {"status": "pending"},
             {"status": "rejected"}, parts[1][:200])
    return ctx.reply("tb_review_done", code=parts[0].upper())


@router.keyword("全部通过", "批量通过")
def approve_all(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """Bulk-approve every pending service record of the community."""
    actor = _staff(ctx)
    if actor is None:
        return ctx.reply("not_allowed")
    records, _ = _pending(ctx)
    for record in records:
        tb.approve(ctx.session, ctx.config, record, actor, ctx.now)
    audit.record(ctx.session, actor, "bulk_approve", f"community:{ctx.resident.community_id}",
             None, {"records": [r.id for r in records]})
    return ctx.reply("tb_review_bulk", n=len(records))


def _by_mobile(ctx: Context, mobile: str) -> Resident | None:
    return ctx.session.scalar(select(Resident).where(
        Resident.mobile == mobile, Resident.community_id == ctx.resident.community_id))


@router.keyword("代录", args=True)
def proxy_log(ctx: Context, msg: Incoming, args: str) -> Reply:
    """代录 <mobile> <type no.> <hours> [date]: hours for a volunteer without a phone, approved."""
    actor = _staff(ctx)
    if actor is None:
        return ctx.reply("not_allowed")
    parts = args.split()
    types = list(tb.cfg(ctx.config, "service_types", []))
    if len(parts) not in (3, 4) or not MOBILE_RE.match(parts[0]) or not parts[1].isdigit() \
            or not 1 <= int(parts[1]) <= len(types):
        return ctx.reply("tb_ask_proxy")
    volunteer = _by_mobile(ctx, parts[0])
    if volunteer is None:
        return ctx.reply("tb_transfer_unknown", mobile=f"{parts[0][:3]}****{parts[0][-4:]}")
    try:
        minutes = parse_duration(parts[2], ctx.config)
        day = parse_date(parts[3], ctx.config, ctx.now) if len(parts) == 4 else \
            ctx.now.astimezone(ctx.config.tz).date()
        tb.grant_volunteer(ctx.session, volunteer, actor)
        record = tb.log_service(ctx.session, ctx.config, volunteer, service_type=types[int(parts[1]) - 1],
                                day=day, minutes=minutes, beneficiary=None, beneficiary_name=None,
                                description=None, photo=None, entered_by=actor, now=ctx.now)
        tb.approve(ctx.session, ctx.config, record, actor, ctx.now)
    except tb.TimebankError as exc:
        return Reply(str(exc))
    audit.record(ctx.session, actor, "proxy_log", f"record:{record.id}", None,
             {"volunteer": volunteer.id, "minutes": minutes, "day": day.isoformat()})
    return ctx.reply("tb_proxy_logged", id=record.id, hours=tb.hours(minutes))


@router.keyword("调整", args=True)
def adjust(ctx: Context, msg: Incoming, args: str) -> Reply:
    """调整 <mobile> <±hours> <reason>: a correction; the reason is mandatory."""
    actor = _staff(ctx)
    if actor is None:
        return ctx.reply("not_allowed")
    parts = args.split(maxsplit=2)
    if len(parts) < 3 or not MOBILE_RE.match(parts[0]) or not re.fullmatch(r"[+-]?\d+(\.\d+)?", parts[1]):
        return ctx.reply("tb_ask_adjust")
    volunteer = _by_mobile(ctx, parts[0])
    if volunteer is None:
        return ctx.reply("tb_transfer_unknown", mobile=f"{parts[0][:3]}****{parts[0][-4:]}")
    try:
        minutes = parse_signed_duration(parts[1], ctx.config)
        account = tb.account_of(ctx.session, volunteer)
        before = tb.adjust(ctx.session, account, minutes, actor, parts[2])
    except tb.TimebankError as exc:
        return Reply(str(exc))
    audit.record(ctx.session, actor, "adjust", f"account:{account.id}", {"balance": before},
             {"balance": before + minutes}, parts[2][:200])
    return ctx.reply("tb_adjusted", sign="+" if minutes > 0 else "-", hours=tb.hours(abs(minutes)),
                     reason=parts[2][:200])


@router.keyword("兑现", "取消兑换", args=True)
def settle(ctx: Context, msg: Incoming, args: str) -> Reply:
    """兑现 R<n> turns the hold into the debit; 取消兑换 R<n> releases it."""
    actor = _staff(ctx)
    if actor is None:
        return ctx.reply("not_allowed")
    code = (args.split() or [""])[0].upper()
    redemption = ctx.session.get(Redemption, int(code[1:])) if re.fullmatch(r"R\d+", code) else None
    if redemption is None or redemption.community_id != ctx.resident.community_id:
        return ctx.reply("tb_review_unknown", code=code[:12] or "—")
    fulfil = msg.normalised.startswith("兑现")
    try:
        tb.settle_redemption(ctx.session, redemption, fulfil, actor, ctx.now)
    except tb.TimebankError as exc:
        return Reply(str(exc))
    audit.record(ctx.session, actor, "fulfil" if fulfil else "cancel_redemption", f"redemption:{redemption.id}",
             {"status": "held"}, {"status": redemption.status.value})
    return ctx.reply("tb_settled", id=redemption.id)


@router.keyword("发放", args=True)
def grant(ctx: Context, msg: Incoming, args: str) -> Reply:
    """发放 <mobile> <hours>: from the community pool to an elder in need."""
    actor = _staff(ctx)
    if actor is None:
        return ctx.reply("not_allowed")
    parts = args.split()
    if len(parts) != 2 or not MOBILE_RE.match(parts[0]):
        return ctx.reply("tb_ask_transfer")
    elder = _by_mobile(ctx, parts[0])
    if elder is None:
        return ctx.reply("tb_transfer_unknown", mobile=f"{parts[0][:3]}****{parts[0][-4:]}")
    try:
        minutes = parse_duration(parts[1], ctx.config, daily_limit=False)
        tb.grant(ctx.session, elder, minutes, actor, ctx.now)
    except tb.TimebankError as exc:
        return Reply(str(exc))
    audit.record(ctx.session, actor, "grant", f"resident:{elder.id}", None, {"minutes": minutes})
    return ctx.reply("tb_granted", hours=tb.hours(minutes))

