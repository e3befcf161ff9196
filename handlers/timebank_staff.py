"""Staff run the time bank from chat: 审核 / 通过 / 驳回 / 全部通过 (records S, applications A,
family links F), 代录 for volunteers
without phones, 调整 with a reason, 兑现 / 取消兑换, 发放 from the pool.

Each command is parsed here and handed to one use case, which checks the sender
is staff of the community and writes the same audit row as the console does.
"""
from __future__ import annotations

from sqlalchemy import select

from bot.context import Context, Reply
from bot.inbound import Incoming
from bot.router import Router
from core.numbers import numbered_choice, record_id
from core.texts import text
from domain import residents
from domain.errors import Refused
from domain.people import person_name
from domain.timebank import exchange, family, records, verification
from domain.timebank.input import parse_date, parse_duration, parse_signed_duration
from domain.timebank.ledger import account_of, hours
from models import (
    ApplicationStatus,
    FamilyLink,
    LinkStatus,
    RecordStatus,
    Redemption,
    Resident,
    ServiceRecord,
    VolunteerApplication,
)

router = Router("timebank_staff")
CODE = r"[SsAaFf]\d{1,9}"
MOBILE = r"1[3-9]\d{9}"


def _is_staff(ctx: Context) -> bool:
    return ctx.actor.is_staff_of(ctx.resident.community_id)


def _pending(ctx: Context):
    records_ = ctx.session.scalars(select(ServiceRecord).where(
        ServiceRecord.community_id == ctx.resident.community_id,
        ServiceRecord.status == RecordStatus.PENDING).order_by(ServiceRecord.id).limit(20)).all()
    applications = ctx.session.execute(select(VolunteerApplication, Resident).join(Resident).where(
        Resident.community_id == ctx.resident.community_id,
        VolunteerApplication.status == ApplicationStatus.PENDING)
        .order_by(VolunteerApplication.id).limit(20)).all()
    links = ctx.session.execute(select(FamilyLink, Resident).join(
        Resident, Resident.id == FamilyLink.resident_id).where(
        FamilyLink.community_id == ctx.resident.community_id, FamilyLink.status == LinkStatus.PENDING)
        .order_by(FamilyLink.id).limit(20)).all()
    return records_, applications, links


@router.keyword("审核", staff=True)
def review(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """Lists pending service records and volunteer applications of the community."""
    if not _is_staff(ctx):
        return ctx.reply("not_allowed")
    pending, applications, links = _pending(ctx)
    if not pending and not applications and not links:
        return ctx.reply("tb_review_empty")
    names = {r.id: person_name(r) for r in ctx.session.scalars(select(Resident).where(
        Resident.id.in_([p.volunteer_id for p in pending] + [p.beneficiary_id for p in pending if p.beneficiary_id])))}
    days = ctx.config.timebank.pair_window_days
    lines = [text("tb_review_record", id=r.id, name=names.get(r.volunteer_id, ""), type=r.service_type,
                  day=f"{r.service_date:%m-%d}", hours=hours(r.minutes),
                  who=f"｜{names.get(r.beneficiary_id) or r.beneficiary_name}"
                  if r.beneficiary_id or r.beneficiary_name else "",
                  note="".join(f"【{f}】" for f in verification.flag_texts(r, days))
                  + (text("tb_waiting_beneficiary") if r.reviewed_at else "")) for r in pending]
    lines += [text("tb_review_application", id=a.id, name=person_name(p), skills=a.skills,
                   availability=a.availability) for a, p in applications]
    relatives = {r.id: r for r in ctx.session.scalars(select(Resident).where(
        Resident.id.in_([link.relative_id for link, _ in links])))}
    lines += [text("tb_review_family", id=link.id, name=person_name(p),
                   relative=person_name(relatives.get(link.relative_id)), relation=link.relation or "")
              for link, p in links]
    return ctx.reply("tb_review_list", items="\n".join(lines))


def _unknown_target(ctx: Context, code: str) -> Reply:
    """Nothing pending under `code`: already decided (say so), or not there at all."""
    for model, prefix in ((ServiceRecord, "S"), (FamilyLink, "F")):
        number = record_id(code, prefix)
        found = ctx.session.get(model, number) if number else None
        if found is not None and found.community_id == ctx.resident.community_id:
            return ctx.reply("tb_review_decided", code=code.upper()[:12])
    return ctx.reply("tb_review_unknown", code=code[:12])


def _target(ctx: Context, code: str) -> ServiceRecord | VolunteerApplication | FamilyLink | None:
    if (number := record_id(code, "S")) is not None:
        record = ctx.session.get(ServiceRecord, number)
        if record and record.community_id == ctx.resident.community_id \
                and record.status is RecordStatus.PENDING:
            return record
    if (number := record_id(code, "A")) is not None:
        application = ctx.session.get(VolunteerApplication, number)
        owner = ctx.session.get(Resident, application.resident_id) if application else None
        if application and owner and owner.community_id == ctx.resident.community_id \
                and application.status is ApplicationStatus.PENDING:
            return application
    if (number := record_id(code, "F")) is not None:
        link = ctx.session.get(FamilyLink, number)
        if link and link.community_id == ctx.resident.community_id and link.status is LinkStatus.PENDING:
            return link
    return None


@router.keyword("通过", "批准", args=CODE, staff=True)
def approve(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Approve a service record (hours credited) or a volunteer application (role granted)."""
    if not _is_staff(ctx):
        return ctx.reply("not_allowed")
    if not args:
        return ctx.reply("tb_ask_review_code")
    target = _target(ctx, args)
    if target is None:
        return _unknown_target(ctx, args)
    try:
        if isinstance(target, ServiceRecord):
            if not verification.approve(ctx.uow, ctx.actor, target):
                return ctx.reply("tb_reviewed_waiting", code=args.upper())
            return ctx.reply("tb_record_credited", code=args.upper(), type=target.service_type,
                             hours=hours(target.minutes),
                             name=person_name(ctx.session.get(Resident, target.volunteer_id)))
        elif isinstance(target, FamilyLink):
            family.decide_link(ctx.uow, ctx.actor, target, True)
        else:
            records.decide_application(ctx.uow, ctx.actor, target, True)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("tb_review_done", code=args.upper())


@router.keyword("驳回", "谢绝", args=rf"{CODE}(\s+.+)?", bare=False, staff=True)
def reject(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Reject with a reason (pushed to the volunteer). Report codes belong to 驳回 of reports."""
    if not _is_staff(ctx):
        return ctx.reply("not_allowed")
    code, _, reason = args.partition(" ")
    if not reason.strip():
        return ctx.reply("tb_need_reason")
    target = _target(ctx, code)
    if target is None:
        return _unknown_target(ctx, code)
    try:
        if isinstance(target, ServiceRecord):
            verification.reject(ctx.uow, ctx.actor, target, reason)
        elif isinstance(target, FamilyLink):
            family.decide_link(ctx.uow, ctx.actor, target, False, reason)
        else:
            records.decide_application(ctx.uow, ctx.actor, target, False, reason)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("tb_review_done", code=code.upper())


@router.keyword("全部通过", "批量通过", staff=True)
def approve_all(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """Bulk-approve the community's pending service records; flagged ones are left for
    one-by-one review (通过 S12), and said so."""
    if not _is_staff(ctx):
        return ctx.reply("not_allowed")
    done = verification.approve_many(ctx.uow, ctx.actor, ctx.resident.community_id)
    flagged = [r.id for r in ctx.session.scalars(select(ServiceRecord).where(
        ServiceRecord.community_id == ctx.resident.community_id, ServiceRecord.status == RecordStatus.PENDING,
        ServiceRecord.reviewed_at.is_(None))) if r.flags]
    left = text("tb_review_flagged_left", codes="、".join(f"S{i}" for i in flagged[:10])) if flagged else ""
    return ctx.reply("tb_review_bulk", n=len(done), left=left)


def _volunteer(ctx: Context, mobile: str) -> Resident | None:
    return residents.by_mobile(ctx.uow, mobile, ctx.resident.community_id)


def _unknown(ctx: Context, mobile: str) -> Reply:
    return ctx.reply("tb_transfer_unknown", mobile=f"{mobile[:3]}****{mobile[-4:]}")


@router.keyword("代录", args=rf"{MOBILE}\s+\S{{1,4}}\s+\S{{1,12}}(\s+\S{{1,12}})?", staff=True)
def proxy_log(ctx: Context, msg: Incoming, args: str) -> Reply:
    """代录 <mobile> <type no.> <hours> [date]: hours for a volunteer without a phone, approved."""
    if not _is_staff(ctx):
        return ctx.reply("not_allowed")
    parts = args.split()
    types = ctx.config.timebank.service_types
    choice = numbered_choice(parts[1], len(types)) if len(parts) >= 3 else None
    if choice is None:
        return ctx.reply("tb_ask_proxy")
    volunteer = _volunteer(ctx, parts[0])
    if volunteer is None:
        return _unknown(ctx, parts[0])
    try:
        minutes = parse_duration(parts[2], ctx.config)
        day = parse_date(parts[3], ctx.config, ctx.now) if len(parts) == 4 else \
            ctx.now.astimezone(ctx.config.tz).date()
        record = records.proxy_log(ctx.uow, ctx.actor, volunteer, service_type=types[choice - 1],
                                   day=day, minutes=minutes)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("tb_proxy_logged", id=record.id, hours=hours(minutes))


@router.keyword("调整", args=rf"{MOBILE}\s+[+\-]?\S{{1,12}}(\s+.+)?", staff=True)
def adjust(ctx: Context, msg: Incoming, args: str) -> Reply:
    """调整 <mobile> <±hours> <reason>: a correction; the reason is mandatory."""
    if not _is_staff(ctx):
        return ctx.reply("not_allowed")
    parts = args.split(maxsplit=2)
    if len(parts) < 3:
        return ctx.reply("tb_ask_adjust")
    volunteer = _volunteer(ctx, parts[0])
    if volunteer is None:
        return _unknown(ctx, parts[0])
    try:
        minutes = parse_signed_duration(parts[1], ctx.config)
        exchange.adjust(ctx.uow, ctx.actor, account_of(ctx.uow, volunteer), minutes, parts[2])
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("tb_adjusted", sign="+" if minutes > 0 else "-", hours=hours(abs(minutes)),
                     reason=parts[2][:200])


def _settle(ctx: Context, args: str, fulfil: bool) -> Reply:
    if not _is_staff(ctx):
        return ctx.reply("not_allowed")
    number = record_id(args, "R")
    redemption = ctx.session.get(Redemption, number) if number else None
    if redemption is None or redemption.community_id != ctx.resident.community_id:
        return ctx.reply("tb_review_unknown", code=args[:12] or "—")
    try:
        exchange.settle_redemption(ctx.uow, ctx.actor, redemption, fulfil)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("tb_settled", id=redemption.id)


@router.keyword("兑现", args=r"[Rr]\d{1,9}", staff=True)
def fulfil(ctx: Context, msg: Incoming, args: str) -> Reply:
    """兑现 R<n> turns the hold into the debit."""
    return _settle(ctx, args, True)


@router.keyword("取消兑换", args=r"[Rr]\d{1,9}", staff=True)
def cancel_redemption(ctx: Context, msg: Incoming, args: str) -> Reply:
    """取消兑换 R<n> releases the hold."""
    return _settle(ctx, args, False)


@router.keyword("发放", args=rf"{MOBILE}\s+\S{{1,12}}", staff=True)
def grant(ctx: Context, msg: Incoming, args: str) -> Reply:
    """发放 <mobile> <hours>: from the community pool to an elder in need."""
    if not _is_staff(ctx):
        return ctx.reply("not_allowed")
    if not args:
        return ctx.reply("tb_ask_grant")
    mobile, amount = args.split()
    elder = _volunteer(ctx, mobile)
    if elder is None:
        return _unknown(ctx, mobile)
    try:
        minutes = parse_duration(amount, ctx.config, daily_limit=False)
        exchange.grant(ctx.uow, ctx.actor, elder, minutes)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("tb_granted", hours=hours(minutes))
