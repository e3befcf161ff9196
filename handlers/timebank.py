"""The time bank by chat: apply to volunteer, 记录服务, 我的时间, 兑换, 转赠, 捐赠,
排行榜, and beneficiaries' 确认 / 不确认.

Conversations: `apply` (SKILLS → AVAILABILITY), `log` (TYPE → DATE → DURATION →
BENEFICIARY → DESCRIPTION → PHOTO → CONFIRM → DONE), `redeem` (CONFIRM → DONE).
A second tap on 1 after DONE is answered, never booked again.
"""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, select

from bot import timebank as tb
from bot.context import Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming, normalise
from bot.router import Router
from bot.texts import text
from handlers.registration import MOBILE_RE, start_registration
from models import (Account, ApplicationStatus, Community, LedgerEntry, RecordStatus, Resident,
                    ServiceRecord, VolunteerApplication)

router = Router()
SKIP = "跳过"
CONFIRM_WORDS = ("1", "提交", "确认")


def _types(ctx: Context) -> list[str]:
    return list(tb.cfg(ctx.config, "service_types", ["上门探访", "助餐送餐", "其他服务"]))


def _registered(ctx: Context) -> Reply | None:
    return None if ctx.resident.community_id else start_registration(ctx, text("welcome"))


def _resident_by_mobile(ctx: Context, mobile: str) -> Resident | None:
    return ctx.session.scalar(select(Resident).where(Resident.mobile == mobile,
                                                     Resident.openid.is_not(None)))


# --- applying -------------------------------------------------------------------------

@router.keyword("申请志愿者", "加入志愿者", "当志愿者")
def apply(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """Starts the application: skills, then availability."""
    if (needs := _registered(ctx)) is not None:
        return needs
    if tb.is_volunteer(ctx.resident):
        return ctx.reply("tb_already_volunteer")
    pending = ctx.session.scalar(select(VolunteerApplication.id).where(
        VolunteerApplication.resident_id == ctx.resident.id,
        VolunteerApplication.status == ApplicationStatus.PENDING))
    if pending:
        return ctx.reply("tb_application_pending")
    ctx.conversation.start("apply", "skills")
    return ctx.reply("tb_ask_skills")


def step_skills(ctx: Context, msg: Incoming) -> Reply:
    """Stores the skills; asks when they can serve."""
    answer = (msg.text or "").strip()
    if not answer:
        return Reply(text("expecting_text") + "\n" + text("tb_ask_skills"))
    ctx.conversation.goto("availability", skills=answer[:200])
    return ctx.reply("tb_ask_availability")


def step_availability(ctx: Context, msg: Incoming) -> Reply:
    """Stores availability and files the application for staff."""
    answer = (msg.text or "").strip()
    if not answer:
        return Reply(text("expecting_text") + "\n" + text("tb_ask_availability"))
    ctx.session.add(VolunteerApplication(resident_id=ctx.resident.id,
                                         skills=ctx.conversation.data["skills"],
                                         availability=answer[:200],
                                         status=ApplicationStatus.PENDING, created_at=ctx.now))
    ctx.conversation.clear()
    return ctx.reply("tb_applied")


router.flow(Flow("apply", "flow_apply", {"skills": step_skills, "availability": step_availability},
                 {"skills": lambda c: text("tb_ask_skills"),
                  "availability": lambda c: text("tb_ask_availability")}))


# --- logging service ----------------------------------------------------------------------

def ask_type(ctx: Context) -> str:
    choices = "\n".join(f"{n}. {t}" for n, t in enumerate(_types(ctx), 1))
    return text("tb_ask_type", choices=choices)


def ask_log_confirm(ctx: Context) -> str:
    d = ctx.conversation.data
    return text("tb_log_summary", type=d["type"], day=d["day"], hours=tb.hours(d["minutes"]),
                who=d.get("who") or text("tb_nobody"))


LOG_PROMPTS = {
    "type": ask_type, "date": lambda c: text("tb_ask_date"),
    "duration": lambda c: text("tb_ask_duration"),
    "beneficiary": lambda c: text("tb_ask_beneficiary"),
    "description": lambda c: text("tb_ask_description"),
    "photo": lambda c: text("tb_ask_photo"), "confirm": ask_log_confirm, "done": lambda c: "",
}


def _ask(ctx: Context, step: str, prefix: str | None = None, **data) -> Reply:
    ctx.conversation.goto(step, **data)
    return Reply(LOG_PROMPTS[step](ctx)).prefixed(prefix)


@router.menu("LOG_SERVICE", "menu_log_service", order=60, group="menu_group_mine")
def log_service(ctx: Context, msg: Incoming) -> Reply:
    """Volunteers only: starts the service record conversation."""
    if (needs := _registered(ctx)) is not None:
        return needs
    if not tb.is_volunteer(ctx.resident):
        return ctx.reply("tb_not_volunteer")
    ctx.conversation.start("log", "type")
    return Reply(ask_type(ctx))


@router.keyword("记录服务", "登记服务", "记录时间")
def log_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return log_service(ctx, msg)


def _retry(ctx: Context, exc: tb.TimebankError) -> Reply:
    return Reply(str(exc) + "\n" + LOG_PROMPTS[ctx.conversation.step](ctx))


def step_type(ctx: Context, msg: Incoming) -> Reply:
    answer = normalise(msg.text or "")
    types = _types(ctx)
    if answer.isdigit() and 1 <= int(answer) <= len(types):
        return _ask(ctx, "date", type=types[int(answer) - 1])
    if answer in types:
        return _ask(ctx, "date", type=answer)
    return Reply(text("unknown_choice") + "\n" + ask_type(ctx))


def step_date(ctx: Context, msg: Incoming) -> Reply:
    try:
        day = tb.parse_date(normalise(msg.text or ""), ctx.config, ctx.now)
    except tb.TimebankError as exc:
        return _retry(ctx, exc)
    return _ask(ctx, "duration", day=day.isoformat())


def step_duration(ctx: Context, msg: Incoming) -> Reply:
    try:
        minutes = tb.parse_duration(normalise(msg.text or ""), ctx.config)
    except tb.TimebankError as exc:
        return _retry(ctx, exc)
    return _ask(ctx, "beneficiary", minutes=minutes)


def step_beneficiary(ctx: Context, msg: Incoming) -> Reply:
    answer = re.sub(r"[\s\-]", "", normalise(msg.text or ""))
    if not answer:
        return _retry(ctx, tb.TimebankError("expecting_text"))
    if answer == SKIP:
        return _ask(ctx, "description", beneficiary=None, who=None)
    if MOBILE_RE.match(answer):
        found = _resident_by_mobile(ctx, answer)
        if found is None:
            return _retry(ctx, tb.TimebankError("tb_transfer_unknown", mobile=answer))
        return _ask(ctx, "description", beneficiary=found.id,
                    who=found.name or f"{answer[:3]}****{answer[-4:]}")
    return _ask(ctx, "description", beneficiary=None, who=answer[:32])


def step_description(ctx: Context, msg: Incoming) -> Reply:
    answer = (msg.text or "").strip()
    return _ask(ctx, "photo", description=None if normalise(answer) == SKIP else answer[:200])


def step_photo(ctx: Context, msg: Incoming) -> Reply:
    if msg.kind == "image":
        return _ask(ctx, "confirm", photo=msg.media_id)
    if normalise(msg.text or "") == SKIP:
        return _ask(ctx, "confirm", photo=None)
    return Reply(LOG_PROMPTS["photo"](ctx))


def step_log_confirm(ctx: Context, msg: Incoming) -> Reply:
    if normalise(msg.text or "") not in CONFIRM_WORDS:
        return Reply(ask_log_confirm(ctx))
    d = ctx.conversation.data
    beneficiary = ctx.session.get(Resident, d["beneficiary"]) if d.get("beneficiary") else None
    try:
        record = tb.log_service(
            ctx.session, ctx.config, ctx.resident, service_type=d["type"],
            day=date.fromisoformat(d["day"]), minutes=d["minutes"], beneficiary=beneficiary,
            beneficiary_name=None if beneficiary else d.get("who"),
            description=d.get("description"), photo=d.get("photo"), entered_by=None, now=ctx.now)
    except tb.TimebankError as exc:
        ctx.conversation.clear()
        return Reply(str(exc))
    ctx.conversation.goto("done", code=f"S{record.id}")
    return ctx.reply("tb_logged_beneficiary" if beneficiary else "tb_logged", id=record.id)


def step_done(ctx: Context, msg: Incoming) -> Reply | None:
    """A repeated 提交 is answered, not booked again; anything else starts afresh."""
    if normalise(msg.text or "") in CONFIRM_WORDS:
        return ctx.reply("already_submitted", code=ctx.conversation.data.get("code"))
    ctx.conversation.clear()
    return ctx.router.dispatch(ctx, msg)


router.flow(Flow("log", "flow_log", {
    "type": step_type, "date": step_date, "duration": step_duration,
    "beneficiary": step_beneficiary, "description": step_description, "photo": step_photo,
    "confirm": step_log_confirm, "done": step_done}, LOG_PROMPTS))


# --- the beneficiary's confirmation ------------------------------------------------------

def _addressed(ctx: Context, args: str) -> ServiceRecord | None:
    code = (args.split() or [""])[0].upper()
    if not re.fullmatch(r"S\d+", code):
        return None
    record = ctx.session.get(ServiceRecord, int(code[1:]))
    if record is None or record.beneficiary_id != ctx.resident.id or \
            record.status is not RecordStatus.PENDING:
        return None
    return record


@router.keyword("确认", args=True)
def beneficiary_confirms(ctx: Context, msg: Incoming, args: str) -> Reply:
    """The beneficiary confirms a service addressed to them; the hours are credited."""
    record = _addressed(ctx, args)
    if record is None:
        return ctx.reply("tb_not_yours", code=args[:12] or "—")
    tb.approve(ctx.session, ctx.config, record, "beneficiary", ctx.now)
    return ctx.reply("tb_confirmed_by_beneficiary")


@router.keyword("不确认", args=True)
def beneficiary_denies(ctx: Context, msg: Incoming, args: str) -> Reply:
    """The beneficiary disputes it; the record stays for staff to check."""
    record = _addressed(ctx, args)
    if record is None:
        return ctx.reply("tb_not_yours", code=args[:12] or "—")
    record.beneficiary_id, record.reason = None, text("tb_denied_by_beneficiary")
    return ctx.reply("tb_denied_by_beneficiary")


# --- balance, redemption, transfers --------------------------------------------------------

@router.menu("MY_TIME", "menu_my_time", order=50, group="menu_group_mine")
def my_time(ctx: Context, msg: Incoming) -> Reply:
    """Balance, hours this month and year, the last 5 entries, pending records."""
    if (needs := _registered(ctx)) is not None:
        return needs
    account = tb.account_of(ctx.session, ctx.resident)
    local_now = ctx.now.astimezone(ctx.config.tz)
    month_start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year_start = month_start.replace(month=1)

    def earned(since) -> int:
        return ctx.session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
            LedgerEntry.account_id == account.id, LedgerEntry.kind == "earn",
            LedgerEntry.created_at >= since)) or 0

    last = ctx.session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id)
                               .order_by(LedgerEntry.id.desc()).limit(5)).all()
    entries = "\n".join(text("tb_entry_line", date=e.created_at.astimezone(ctx.config.tz).strftime("%m-%d"),
                             kind=text(f"tb_kind_{e.kind.value}"), sign="+" if e.minutes > 0 else "-",
                             hours=tb.hours(abs(e.minutes))) for e in last) or text("tb_no_entries")
    pending = ctx.session.execute(select(func.count(), func.coalesce(func.sum(ServiceRecord.minutes), 0))
                                  .where(ServiceRecord.volunteer_id == ctx.resident.id,
                                         ServiceRecord.status == RecordStatus.PENDING)).one()
    pending_text = text("tb_pending_line", n=pending[0], hours=tb.hours(pending[1])) if pending[0] else ""
    return ctx.reply("tb_my_time", balance=tb.hours(account.balance), month=tb.hours(earned(month_start)),
                     year=tb.hours(earned(year_start)), entries=entries, pending=pending_text)


@router.keyword("我的时间", "时间账户", "时间银行", "我的時間")
def my_time_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return my_time(ctx, msg)


def _catalogue(ctx: Context) -> list[dict]:
    name = ctx.session.scalar(select(Community.name).where(Community.id == ctx.resident.community_id))
    return tb.catalogue(ctx.config, name or "")


@router.keyword("兑换", args=True)
def redeem(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Without a number: the catalogue; with one: asks to confirm the hold."""
    if (needs := _registered(ctx)) is not None:
        return needs
    items = _catalogue(ctx)
    if not items:
        return ctx.reply("tb_catalogue_empty")
    number = (args.split() or [""])[0]
    if not number:
        name = ctx.session.scalar(select(Community.name).where(Community.id == ctx.resident.community_id))
        lines = "\n".join(text("tb_catalogue_line", n=n, name=i["name"], hours=i["hours"])
                          for n, i in enumerate(items, 1))
        return ctx.reply("tb_catalogue", community=name, items=lines)
    if not number.isdigit() or not 1 <= int(number) <= len(items):
        return ctx.reply("tb_redeem_bad_number", n=number[:6])
    item = items[int(number) - 1]
    ctx.conversation.start("redeem", "confirm", item=item)
    return ctx.reply("tb_confirm_redeem", hours=item["hours"], name=item["name"])


def step_redeem_confirm(ctx: Context, msg: Incoming) -> Reply:
    answer = normalise(msg.text or "")
    item = ctx.conversation.data["item"]
    if answer == "2":
        ctx.conversation.clear()
        return ctx.reply("signup_dropped")
    if answer not in CONFIRM_WORDS:
        return ctx.reply("tb_confirm_redeem", hours=item["hours"], name=item["name"])
    try:
        redemption = tb.request_redemption(ctx.session, ctx.resident, item, ctx.now)
    except tb.TimebankError as exc:
        ctx.conversation.clear()
        return Reply(str(exc))
    ctx.conversation.start("log", "done", code=f"R{redemption.id}")
    return ctx.reply("tb_redeem_requested", name=item["name"], hours=item["hours"], id=redemption.id)


router.flow(Flow("redeem", "flow_redeem", {"confirm": step_redeem_confirm},
                 {"confirm": lambda c: text("tb_confirm_redeem",
                                            hours=c.conversation.data["item"]["hours"],
                                            name=c.conversation.data["item"]["name"])}))


def _amount(raw: str, ctx: Context) -> int:
    return tb.parse_duration(raw, ctx.config, daily_limit=False)


@router.keyword("转赠", args=True)
def transfer(ctx: Context, msg: Incoming, args: str) -> Reply:
    """转赠 <mobile> <hours>: to a family member registered in the same community."""
    parts = args.split()
    if len(parts) != 2 or not MOBILE_RE.match(parts[0]):
        return ctx.reply("tb_ask_transfer")
    receiver = _resident_by_mobile(ctx, parts[0])
    if receiver is None:
        return ctx.reply("tb_transfer_unknown", mobile=f"{parts[0][:3]}****{parts[0][-4:]}")
    try:
        minutes = _amount(parts[1], ctx)
        tb.transfer(ctx.session, ctx.config, ctx.resident, receiver, minutes, ctx.now)
    except tb.TimebankError as exc:
        return Reply(str(exc))
    return ctx.reply("tb_transferred", hours=tb.hours(minutes))


@router.keyword("捐赠", args=True)
def donate(ctx: Context, msg: Incoming, args: str) -> Reply:
    """捐赠 <hours>: to the community pool (公益池) for elders in need."""
    parts = args.split()
    if len(parts) != 1:
        return ctx.reply("tb_ask_donate")
    try:
        minutes = _amount(parts[0], ctx)
        tb.donate(ctx.session, ctx.resident, minutes, ctx.now)
    except tb.TimebankError as exc:
        return Reply(str(exc))
    return ctx.reply("tb_donated", hours=tb.hours(minutes))


@router.keyword("排行榜", "光荣榜")
def leaderboard(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """This month's top 10 in the community; people who opted out are left off."""
    if (needs := _registered(ctx)) is not None:
        return needs
    start = ctx.now.astimezone(ctx.config.tz).replace(day=1, hour=0, minute=0, second=0,
                                                      microsecond=0)
    rows = ctx.session.execute(
        select(Resident.name, Resident.id, func.sum(LedgerEntry.minutes).label("m"))
        .join(Account, Account.owner_id == Resident.id)
        .join(LedgerEntry, LedgerEntry.account_id == Account.id)
        .where(Account.community_id == ctx.resident.community_id,
               Account.leaderboard_opt_out.is_(False), LedgerEntry.kind == "earn",
               LedgerEntry.created_at >= start)
        .group_by(Resident.id, Resident.name).order_by(func.sum(LedgerEntry.minutes).desc())
        .limit(10)).all()
    name = ctx.session.scalar(select(Community.name).where(Community.id == ctx.resident.community_id))
    if not rows:
        return ctx.reply("tb_leaderboard_empty")
    items = "\n".join(text("tb_leader_line", n=n, name=r.name or f"志愿者{r.id}", hours=tb.hours(r.m))
                      for n, r in enumerate(rows, 1))
    return ctx.reply("tb_leaderboard", community=name, items=items)


@router.keyword("不上榜", "上榜")
def leaderboard_opt(ctx: Context, msg: Incoming, _args: str) -> Reply:
    account = tb.account_of(ctx.session, ctx.resident)
    account.leaderboard_opt_out = msg.normalised.startswith("不")
    return ctx.reply("tb_opted_out" if account.leaderboard_opt_out else "tb_opted_in")

