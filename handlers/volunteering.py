"""Volunteering by chat: apply to volunteer, 记录服务 (log hours), and the beneficiary's
确认 / 不确认.

Conversations: `apply` (SKILLS → AVAILABILITY) and `log` (TYPE → DATE → DURATION →
BENEFICIARY → DESCRIPTION → PHOTO → CONFIRM → DONE; a second tap on 1 after DONE is
answered, never booked again).
"""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from bot import timebank as tb
from bot.context import Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming, normalise
from bot.router import Router
from bot.texts import text
from bot.timebank_input import parse_date, parse_duration
from handlers.registration import MOBILE_RE, start_registration
from models import ApplicationStatus, RecordStatus, Resident, ServiceRecord, VolunteerApplication

router = Router()
SKIP = "跳过"
CONFIRM_WORDS = ("1", "提交", "确认")


def _types(ctx: Context) -> list[str]:
    return list(tb.cfg(ctx.config, "service_types", ["上门探访", "助餐送餐", "其他服务"]))


def registered_first(ctx: Context) -> Reply | None:
    """Registration comes first for anything in the time bank."""
    return None if ctx.resident.community_id else start_registration(ctx, text("welcome"))


def resident_by_mobile(ctx: Context, mobile: str) -> Resident | None:
    return ctx.session.scalar(select(Resident).where(Resident.mobile == mobile,
                                                     Resident.openid.is_not(None)))


# --- applying -------------------------------------------------------------------------

@router.keyword("申请志愿者", "加入志愿者", "当志愿者")
def apply(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """Starts the application: skills, then availability."""
    if (needs := registered_first(ctx)) is not None:
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
    if (needs := registered_first(ctx)) is not None:
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
        day = parse_date(normalise(msg.text or ""), ctx.config, ctx.now)
    except tb.TimebankError as exc:
        return _retry(ctx, exc)
    return _ask(ctx, "duration", day=day.isoformat())


def step_duration(ctx: Context, msg: Incoming) -> Reply:
    try:
        minutes = parse_duration(normalise(msg.text or ""), ctx.config)
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
        found = resident_by_mobile(ctx, answer)
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
