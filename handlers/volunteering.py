"""Volunteering by chat: apply to volunteer, 记录服务 (log hours), and the beneficiary's
确认 / 不确认.

Conversations: `apply` (SKILLS → AVAILABILITY) and `log` (TYPE → DATE → DURATION →
BENEFICIARY → DESCRIPTION → PHOTO → CONFIRM → DONE; a second tap on 1 after DONE is
answered, never booked again).
"""
from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import select

from bot.context import AGAIN, Context, Reply
from bot.conversation import Flow, ask, done, reask, start
from bot.inbound import Incoming
from bot.router import Router
from bot.understanding import yes_or_no
from core.numbers import numbered_choice, record_id
from core.texts import text, vocab
from core.words import normalise
from domain import residents
from domain.errors import Refused
from domain.people import mask_name, person_name
from domain.timebank import records, verification
from domain.timebank.input import parse_date, parse_duration
from domain.timebank.ledger import hours
from handlers.registration import registered_first
from models import RecordStatus, Resident, ServiceRecord

router = Router("volunteering")
RECORD_CODE = r"[Ss]\d{1,9}"


class ApplyStep(enum.StrEnum):
    SKILLS = "skills"
    AVAILABILITY = "availability"


class LogStep(enum.StrEnum):
    TYPE = "type"
    DATE = "date"
    DURATION = "duration"
    BENEFICIARY = "beneficiary"
    DESCRIPTION = "description"
    PHOTO = "photo"
    CONFIRM = "confirm"
    DONE = "done"


# --- applying -------------------------------------------------------------------------

@router.intent("volunteer")
def apply_asked(ctx: Context, msg: Incoming) -> Reply:
    return apply(ctx, msg, "")


@router.keyword("申请志愿者", "加入志愿者", "当志愿者")
def apply(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """Starts the application: skills, then availability."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    if records.is_volunteer(ctx.resident):
        return ctx.reply("tb_already_volunteer")
    if records.has_pending_application(ctx.uow, ctx.resident):
        return ctx.reply("tb_application_pending")
    return start(ctx, "apply", ApplyStep.SKILLS)


def step_skills(ctx: Context, msg: Incoming) -> Reply:
    """Stores the skills; asks when they can serve."""
    answer = (msg.text or "").strip()
    if not answer:
        return reask(ctx, "expecting_text")
    return ask(ctx, ApplyStep.AVAILABILITY, skills=answer[:200])


def step_availability(ctx: Context, msg: Incoming) -> Reply:
    """Stores availability and files the application for staff."""
    answer = (msg.text or "").strip()
    if not answer:
        return reask(ctx, "expecting_text")
    try:
        records.apply(ctx.uow, ctx.resident, ctx.conversation.data["skills"], answer)
    except Refused as refusal:
        return done(ctx, refusal.key)
    return done(ctx, "tb_applied")


router.flow(Flow("apply", "flow_apply", ApplyStep,
                 {ApplyStep.SKILLS: step_skills, ApplyStep.AVAILABILITY: step_availability},
                 {ApplyStep.SKILLS: lambda c: text("tb_ask_skills"),
                  ApplyStep.AVAILABILITY: lambda c: text("tb_ask_availability")},
                 free_text=frozenset({ApplyStep.SKILLS, ApplyStep.AVAILABILITY})))


# --- logging service ----------------------------------------------------------------------

def _types(ctx: Context) -> list[str]:
    return ctx.config.timebank.service_types


def ask_type(ctx: Context) -> str:
    choices = "\n".join(f"{n}. {t}" for n, t in enumerate(_types(ctx), 1))
    return text("tb_ask_type", choices=choices)


def ask_log_confirm(ctx: Context) -> str:
    d = ctx.conversation.data
    return text("tb_log_summary", type=d["type"], day=d["day"], hours=hours(d["minutes"]),
                who=d.get("who") or text("tb_nobody"),
                what=text("tb_log_what", text=d["description"]) if d.get("description") else "")


LOG_PROMPTS = {
    LogStep.TYPE: ask_type, LogStep.DATE: lambda c: text("tb_ask_date"),
    LogStep.DURATION: lambda c: text("tb_ask_duration"),
    LogStep.BENEFICIARY: lambda c: text("tb_ask_beneficiary"),
    LogStep.DESCRIPTION: lambda c: text("tb_ask_description"),
    LogStep.PHOTO: lambda c: text("tb_ask_photo"), LogStep.CONFIRM: ask_log_confirm,
    LogStep.DONE: lambda c: text("tb_done_prompt", code=c.conversation.data.get("code", "")),
}


@router.intent("log_service")
@router.menu("LOG_SERVICE", "menu_log_service", order=60, group="menu_group_mine")
def log_service(ctx: Context, msg: Incoming) -> Reply:
    """Volunteers only: starts the service record conversation."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    if not records.is_volunteer(ctx.resident):
        return ctx.reply("tb_not_volunteer")
    return start(ctx, "log", LogStep.TYPE)


@router.keyword("登记服务", "记录时间")
def log_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return log_service(ctx, msg)


def step_type(ctx: Context, msg: Incoming) -> Reply:
    answer = normalise(msg.text or "")
    types = _types(ctx)
    if (choice := numbered_choice(answer, len(types))) is not None:
        return ask(ctx, LogStep.DATE, type=types[choice - 1])
    if answer in types:
        return ask(ctx, LogStep.DATE, type=answer)
    return reask(ctx, "unknown_choice")


def step_date(ctx: Context, msg: Incoming) -> Reply:
    try:
        day = parse_date(msg.text or "", ctx.config, ctx.now)
    except Refused as refusal:
        return reask(ctx, refusal.key, **refusal.values)
    return ask(ctx, LogStep.DURATION, day=day.isoformat())


def step_duration(ctx: Context, msg: Incoming) -> Reply:
    try:
        minutes = parse_duration(msg.text or "", ctx.config)
    except Refused as refusal:
        return reask(ctx, refusal.key, **refusal.values)
    return ask(ctx, LogStep.BENEFICIARY, minutes=minutes)


def step_beneficiary(ctx: Context, msg: Incoming) -> Reply:
    answer = residents.clean_mobile(msg.text or "")
    if not answer:
        return reask(ctx, "expecting_text")
    if answer in vocab.SKIP:
        return ask(ctx, LogStep.DESCRIPTION, beneficiary=None, who=None)
    if residents.MOBILE_RE.match(answer):
        found = residents.by_mobile(ctx.uow, answer, ctx.resident.community_id)
        if found is None:
            return reask(ctx, "tb_transfer_unknown", mobile=f"{answer[:3]}****{answer[-4:]}")
        if found.id == ctx.resident.id:
            return reask(ctx, "tb_self_service")
        # Masked: a mobile number typed must not tell a stranger's name.
        return ask(ctx, LogStep.DESCRIPTION, beneficiary=found.id,
                   who=f"{mask_name(person_name(found))}（{found.masked_mobile}）")
    return ask(ctx, LogStep.DESCRIPTION, beneficiary=None, who=(msg.text or "").strip()[:32])


def step_description(ctx: Context, msg: Incoming) -> Reply:
    answer = (msg.text or "").strip()
    return ask(ctx, LogStep.PHOTO, description=None if normalise(answer) in vocab.SKIP else answer[:200])


def step_photo(ctx: Context, msg: Incoming) -> Reply:
    if msg.kind == "image":
        if not msg.media_id:
            return reask(ctx, "photo_unreadable")
        return ask(ctx, LogStep.CONFIRM, photo=msg.media_id)
    if normalise(msg.text or "") in vocab.SKIP:
        return ask(ctx, LogStep.CONFIRM, photo=None)
    return reask(ctx, "")


def step_log_confirm(ctx: Context, msg: Incoming) -> Reply:
    answer = yes_or_no(msg.text)
    if answer is False:
        return done(ctx, "tb_log_dropped")
    if answer is not True:
        return reask(ctx, "")
    d = ctx.conversation.data
    beneficiary = ctx.session.get(Resident, d["beneficiary"]) if d.get("beneficiary") else None
    try:
        record = records.log_service(
            ctx.uow, ctx.resident, service_type=d["type"], day=date.fromisoformat(d["day"]),
            minutes=d["minutes"], beneficiary=beneficiary,
            beneficiary_name=None if beneficiary else d.get("who"),
            description=d.get("description"), photo=d.get("photo"))
    except Refused as refusal:
        return done(ctx, refusal.key, **refusal.values)
    ctx.conversation.goto(LogStep.DONE, code=f"S{record.id}")
    return ctx.reply("tb_logged_beneficiary" if beneficiary else "tb_logged", id=record.id)


def step_done(ctx: Context, msg: Incoming):
    """A repeated 提交 is answered, not booked again; anything else is handled afresh."""
    if normalise(msg.text or "") in vocab.CONFIRM:
        return ctx.reply("already_submitted", code=ctx.conversation.data.get("code"))
    return AGAIN


router.flow(Flow("log", "flow_log", LogStep, {
    LogStep.TYPE: step_type, LogStep.DATE: step_date, LogStep.DURATION: step_duration,
    LogStep.BENEFICIARY: step_beneficiary, LogStep.DESCRIPTION: step_description,
    LogStep.PHOTO: step_photo, LogStep.CONFIRM: step_log_confirm, LogStep.DONE: step_done},
    LOG_PROMPTS, free_text=frozenset({LogStep.BENEFICIARY, LogStep.DESCRIPTION})))


# --- the beneficiary's confirmation ------------------------------------------------------

def _waiting_for(ctx: Context) -> list[ServiceRecord]:
    return list(ctx.session.scalars(select(ServiceRecord).where(
        ServiceRecord.beneficiary_id == ctx.resident.id, ServiceRecord.confirmed_at.is_(None),
        ServiceRecord.status == RecordStatus.PENDING).order_by(ServiceRecord.id).limit(10)))


def _line(ctx: Context, record: ServiceRecord) -> str:
    return text("tb_waiting_line", id=record.id, type=record.service_type, hours=hours(record.minutes),
                day=f"{record.service_date:%m-%d}",
                volunteer=person_name(ctx.session.get(Resident, record.volunteer_id)))


def _addressed(ctx: Context, args: str) -> tuple[ServiceRecord | None, Reply | None]:
    """The record named in `args`; with no code, the only one waiting (or the list)."""
    if not args:
        waiting = _waiting_for(ctx)
        if len(waiting) == 1:
            return waiting[0], None
        if not waiting:
            return None, ctx.reply("tb_nothing_to_confirm")
        return None, ctx.reply("tb_waiting_list", items="\n".join(_line(ctx, r) for r in waiting))
    number = record_id(args, "S")
    record = ctx.session.get(ServiceRecord, number) if number else None
    if record is not None and record.beneficiary_id == ctx.resident.id and record.confirmed_at is not None:
        return None, ctx.reply("tb_already_confirmed", code=f"S{record.id}")
    if record is None or record.beneficiary_id != ctx.resident.id or \
            record.status is not RecordStatus.PENDING:
        return None, ctx.reply("tb_not_yours", code=args[:12])
    return record, None


@router.keyword("确认", args=RECORD_CODE)
def beneficiary_confirms(ctx: Context, msg: Incoming, args: str) -> Reply:
    """The beneficiary confirms a service addressed to them; credited unless staff must
    review it too (the community's policy, or a flag)."""
    record, problem = _addressed(ctx, args)
    if problem:
        return problem
    credited = verification.beneficiary_confirms(ctx.uow, ctx.resident, record)
    return ctx.reply("tb_confirmed_by_beneficiary" if credited else "tb_confirmed_staff_next",
                     **verification.confirmed_values(ctx.uow, record))


@router.intent("confirm_service")
def confirm_asked(ctx: Context, msg: Incoming) -> Reply | None:
    """"我想确认一下": what waits for their word, never confirmed on a guess."""
    if ctx.resident is None or not (waiting := _waiting_for(ctx)):
        return None
    if len(waiting) == 1:
        return ctx.reply("tb_waiting_one", item=_line(ctx, waiting[0]))
    return ctx.reply("tb_waiting_list", items="\n".join(_line(ctx, r) for r in waiting))


@router.keyword("不确认", args=RECORD_CODE)
def beneficiary_denies(ctx: Context, msg: Incoming, args: str) -> Reply:
    """The beneficiary disputes it; the record stays for staff to check."""
    record, problem = _addressed(ctx, args)
    if problem:
        return problem
    verification.beneficiary_denies(ctx.uow, ctx.resident, record)
    return ctx.reply("tb_denied_by_beneficiary")
