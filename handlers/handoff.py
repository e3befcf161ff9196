"""Human handoff (人工服务) in chat: asking for a person, talking to staff, ending it.

```mermaid
stateDiagram-v2
    [*] --> OPEN: 人工 / 找工作人员 / 我唔识用 / three misunderstandings in a row
    OPEN --> OPEN: anything but a command goes to the console's chat inbox
    OPEN --> [*]: 结束 (resident) or 结束对话 (staff, console)
```
The state is the resident's open `Handoff` row, not a conversation: it outlives the
conversation idle timeout, and commands keep working while staff are on their way.
"""
from __future__ import annotations

from bot.context import Context, Reply
from bot.inbound import Incoming
from bot.router import Router
from core.texts import text, vocab
from domain import handoffs
from handlers.registration import registered_first

router = Router("handoff")


@router.intent("human")
@router.menu("HUMAN", "menu_human", order=85, group="menu_group_mine")
def ask_for_a_person(ctx: Context, msg: Incoming) -> Reply:
    """Opens (or reminds of) the handoff and says who answers, and when."""
    return _open(ctx, "asked")


@router.keyword("人工", "人工客服", "转人工", "找工作人员", "联系工作人员", "我唔识用", "我不会用")
def ask_for_a_person_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return _open(ctx, "asked")


@router.intent("misunderstood")
def misunderstood(ctx: Context, msg: Incoming) -> Reply:
    """The bot failed three times in a row: a person takes over."""
    reply = _open(ctx, "misunderstood")
    return reply.prefixed(text("handoff_after_misunderstanding"))


def _open(ctx: Context, reason: str) -> Reply:
    if (needs := registered_first(ctx)) is not None:
        return needs
    _, opened = handoffs.open_for(ctx.uow, ctx.resident, reason)
    told = handoffs.when_answered(ctx.uow, ctx.resident.community_id)
    return Reply(told) if opened else ctx.reply("handoff_still_open")


@router.keyword(*sorted(vocab.END_HANDOFF))
def end(ctx: Context, msg: Incoming, _args: str) -> Reply:
    handoff = handoffs.current(ctx.uow, ctx.resident) if ctx.resident else None
    if handoff is None:
        return ctx.reply("handoff_none")
    handoffs.close(ctx.uow, ctx.actor, handoff)
    return ctx.reply("handoff_ended")


@router.intercept
def to_staff(ctx: Context, msg: Incoming) -> Reply | None:
    """While a handoff is open, what the resident sends goes to staff (commands still work)."""
    if ctx.resident is None or ctx.resident.handoff_id is None:
        return None
    handoff = handoffs.current(ctx.uow, ctx.resident)
    if handoff is None:
        return None
    handoffs.hear(ctx.uow, handoff, _as_text(msg))
    return ctx.reply("handoff_received")


def _as_text(msg: Incoming) -> str:
    """What staff read for each kind of message."""
    if msg.text:
        return msg.text
    if msg.kind == "image":
        return text("handoff_photo", url=msg.pic_url or "")
    if msg.kind == "location" and msg.has_location:
        return text("handoff_location", label=msg.label or "", lat=f"{msg.lat:.5f}", lng=f"{msg.lng:.5f}")
    if msg.kind == "voice":
        return text("handoff_voice")
    return text("handoff_other", kind=msg.kind)
