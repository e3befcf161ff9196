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
from domain import residents

router = Router("help")
log = logging.getLogger(__name__)


@router.menu("HELP", "menu_help", order=90)
def show_help(ctx: Context, msg: Incoming) -> Reply:
    """Explains how to use the account and lists the menu."""
    return ctx.reply("help", menu=ctx.router.menu_text())


@router.keyword("说明", "使用说明")
def greet(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return show_help(ctx, msg)


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
