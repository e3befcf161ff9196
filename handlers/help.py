"""Help, the main menu, and polite answers to messages no feature claims.

Voice without recognition, links, videos and unknown kinds arriving outside a
conversation get a polite reply here (photos and locations start a report:
handlers/reports.py). Periodic LOCATION events are remembered silently.
"""
from __future__ import annotations

import logging

from bot.context import Context, Reply
from bot.inbound import Incoming
from bot.router import Router
from core.texts import text
from domain import handoffs, residents

router = Router("help")
log = logging.getLogger(__name__)


@router.intent("help")
@router.menu("HELP", "menu_help", order=90)
def show_help(ctx: Context, msg: Incoming) -> Reply:
    """Explains how to use the account, lists the menu and says how to reach people."""
    return ctx.reply("help", menu=ctx.router.menu_text(), contact=_contact_line(ctx))


@router.keyword("说明", "使用说明")
def help_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return show_help(ctx, msg)


def _contact_line(ctx: Context) -> str:
    name, contact = handoffs.contact_of(ctx.uow, ctx.resident.community_id if ctx.resident else None)
    return text("contact_line", community=name or text("handoff_staff_generic"), phone=contact.phone,
                hours=contact.hours_text)


@router.intent("contact")
@router.keyword("联系方式", "社区电话", "联系社区", "办公时间")
def contact(ctx: Context, msg: Incoming, _args: str = "") -> Reply:
    """The community's phone, office and office hours (the default ones before registration)."""
    name, point = handoffs.contact_of(ctx.uow, ctx.resident.community_id if ctx.resident else None)
    return ctx.reply("contact", community=name or text("handoff_staff_generic"), phone=point.phone,
                     office=point.office, hours=point.hours_text)


@router.intent("greeting")
def greeting(ctx: Context, msg: Incoming) -> Reply:
    name = ctx.resident.name if ctx.resident is not None and ctx.resident.name else ""
    return ctx.reply("hello", name=name)


@router.intent("thanks")
def thanks(ctx: Context, msg: Incoming) -> Reply:
    return ctx.reply("you_are_welcome")


@router.intent("chitchat")
def chitchat(ctx: Context, msg: Incoming) -> Reply:
    return ctx.reply("small_talk")


@router.message("voice")
def voice_not_understood(ctx: Context, msg: Incoming) -> Reply:
    """Voice without WeChat's speech recognition text."""
    return ctx.reply("voice_not_understood")


@router.message("*")
def unsupported(ctx: Context, msg: Incoming) -> Reply:
    if msg.kind == "unknown":
        log.info("unknown message type %s", msg.fields.get("MsgType"))
    return ctx.reply("unsupported_message")


@router.event("location")
def location_event(ctx: Context, msg: Incoming) -> None:
    """Periodic position report (if the resident allowed it); nothing to say."""
    remember_location(ctx, msg)


@router.event("view")
def menu_link_opened(ctx: Context, msg: Incoming) -> None:
    return None


def remember_location(ctx: Context, msg: Incoming) -> None:
    if ctx.resident is not None and msg.has_location:
        residents.remember_location(ctx.uow, ctx.resident, msg.lat, msg.lng)
