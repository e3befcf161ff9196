"""What WeChat reports to the webhook: delivery reports, kept for the outbox to reconcile,
and residents' answers to subscription notifications (订阅通知)."""
from __future__ import annotations

from sqlalchemy import select

from bot.context import Context
from bot.inbound import Incoming
from bot.router import Router
from core.words import clip
from domain import subscriptions
from domain.broadcasts import apply_mass_report
from models import Broadcast, PlatformEvent

router = Router("platform_events")


@router.event("templatesendjobfinish", "masssendjobfinish")
def record_delivery_report(ctx: Context, msg: Incoming) -> None:
    """Stores the report (status, counts); nothing is said to anyone."""
    # Clipped to their columns: an over-long field from the platform is kept, cut.
    fields = {k: v[:256] for k, v in msg.fields.items() if k not in ("ToUserName", "FromUserName")}
    msg_id = clip(fields.get("MsgID") or fields.get("MsgId"), 64)
    ctx.session.add(PlatformEvent(event=msg.event[:32], msg_id=msg_id,
                                  status=clip(fields.get("Status"), 64), payload=fields,
                                  created_at=ctx.now))
    if msg.event == "masssendjobfinish" and msg_id:
        # The report can beat the scheduler's record of the msg_id; then the
        # scheduler applies it from platform_events when it records the id.
        broadcast = ctx.session.scalars(select(Broadcast).where(Broadcast.mass_msg_id == msg_id)).first()
        if broadcast is not None:
            apply_mass_report(broadcast, fields, ctx.now)


@router.event("subscribe_msg_popup_event", "subscribe_msg_change_event", "subscribe_msg_sent_event")
def subscription_answered(ctx: Context, msg: Incoming) -> None:
    """Accept / reject per template (from the pop-up or WeChat's settings); nothing is said."""
    if ctx.resident is not None:
        subscriptions.record_answers(ctx.uow, ctx.resident, msg.subscription_answers, msg.event)
