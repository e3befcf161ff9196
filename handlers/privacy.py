"""What Linli holds about a person: 我的数据 shows it, 注销 erases it (as unfollowing does).

The `erase` flow asks once (CONFIRM: 1 erases, 2 keeps) before anything is removed.
"""
from __future__ import annotations

import enum

from bot.context import Context, Reply
from bot.conversation import Flow, done, reask, start
from bot.inbound import Incoming
from bot.router import Router
from core.texts import text, vocab
from core.words import normalise
from domain import residents

router = Router("privacy")
ERASE = "erase"


class EraseStep(enum.StrEnum):
    CONFIRM = "confirm"


def _answer(msg: Incoming) -> str:
    return normalise(msg.text or "")


@router.keyword("我的数据", "我的隐私", "查看我的数据")
def my_data(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """Everything held about the person, and how to erase it."""
    held = residents.held_data(ctx.uow, ctx.resident)
    consented = held["consented_at"].astimezone(ctx.config.tz).strftime("%Y-%m-%d") \
        if held["consented_at"] else text("not_set")
    roles = "、".join(text(f"role_{r}") for r in held["roles"])
    return ctx.reply("my_data", name=held["name"] or text("not_set"),
                     community=held["community"] or text("not_set"),
                     address=held["address"] or text("not_set"),
                     mobile=held["mobile"] or text("not_set"), roles=roles,
                     consented=consented, reports=held["reports"], signups=held["signups"],
                     services=held["services"], balance=f"{held['balance'] / 60:g}")


def step_erase(ctx: Context, msg: Incoming) -> Reply:
    """1 erases everything personal (as unfollowing does); 2 keeps it."""
    answer = _answer(msg)
    if answer in vocab.CONFIRM:
        residents.erase(ctx.uow, ctx.resident)
        return ctx.reply("erased")
    if answer in vocab.DECLINE:
        return done(ctx, "erase_kept")
    return reask(ctx, "reply_one_or_two")


router.flow(Flow(ERASE, "flow_erase", EraseStep, {EraseStep.CONFIRM: step_erase},
                 {EraseStep.CONFIRM: lambda ctx: text("ask_erase")}))


@router.keyword("注销", "删除我的数据", "注销账号")
def erase_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return start(ctx, ERASE, EraseStep.CONFIRM)
