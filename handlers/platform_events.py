"""Delivery reports WeChat pushes to the webhook, kept for the outbox to reconcile."""
from __future__ import annotations

from bot.context import Context
from bot.inbound import Incoming
from bot.router import Router
from models import PlatformEvent

router = Router()


@router.event("templatesendjobfinish", "masssendjobfinish")
def record_delivery_report(ctx: Context, msg: Incoming) -> None:
    """Stores the report (status, counts); nothing is said to anyone."""
    fields = {k: v for k, v in msg.fields.items() if k not in ("ToUserName", "FromUserName")}
    ctx.session.add(PlatformEvent(event=msg.event, msg_id=fields.get("MsgID") or fields.get("MsgId"),
                                  status=fields.get("Status"), payload=fields))
