"""WeChat's channel rules for one push: which channel, and what an error means.

- Customer-service message when the resident wrote within 48 hours.
- Otherwise (or on 45015/45047) a template message, if `wechat.templates.<kind>`
  is configured; otherwise the push is undeliverable, with the reason.
- 43004: the person unfollowed → stop. 45009: daily quota → pause the kind.
- -1, HTTP errors and timeouts → retry later with backoff.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import requests
from wechatpy.exceptions import WeChatClientException

from core.outbox import CUSTOMER_SERVICE_WINDOW
from core.wechat_api import WeChatAPI
from models import Channel

WINDOW_CLOSED = {45015, 45047}
UNFOLLOWED = 43004
QUOTA = 45009
# Errors that will not change by trying again: the push cannot be delivered.
PERMANENT = {40003: "invalid openid", 40037: "template id refused by WeChat",
             47001: "malformed message", 44003: "empty message"}


class Result(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    UNDELIVERABLE = "undeliverable"
    UNFOLLOWED = "unfollowed"
    PAUSE = "pause"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Outcome:
    result: Result
    channel: Channel | None = None
    code: int | None = None
    reason: str = ""


@dataclass(frozen=True)
class Push:
    """What the dispatcher knows of one claimed outbox row."""

    id: int
    kind: str
    payload: dict
    openid: str | None
    followed: bool
    last_message_at: datetime | None
    expires_at: datetime | None
    attempts: int = 1


def deliver(api: WeChatAPI, templates: dict[str, str], push: Push, now: datetime) -> Outcome:
    """Try the channels the rules allow, in order, and say what happened."""
    if not push.openid or not push.followed:
        return Outcome(Result.CANCELLED, reason="recipient unfollowed")
    if push.expires_at is not None and push.expires_at <= now:
        return Outcome(Result.CANCELLED, reason="no longer relevant")
    channels = []
    if push.last_message_at is not None and now - push.last_message_at < CUSTOMER_SERVICE_WINDOW:
        channels.append(Channel.CUSTOM)
    if templates.get(push.kind):
        channels.append(Channel.TEMPLATE)
    if not channels:
        return Outcome(Result.UNDELIVERABLE,
                       reason=f"outside the 48-hour window and no template for '{push.kind}'")
    last = None
    for channel in channels:
        try:
            _send(api, channel, templates, push)
            return Outcome(Result.SENT, channel)
        except WeChatClientException as exc:
            code = exc.errcode
            if code in WINDOW_CLOSED:
                last = Outcome(Result.UNDELIVERABLE, channel, code,
                               f"customer-service window closed ({code}) and no template "
                               f"for '{push.kind}'")
                continue
            return _classify(channel, code, str(exc.errmsg or exc))
        except requests.RequestException as exc:
            return Outcome(Result.RETRY, channel, None, type(exc).__name__)
    return last or Outcome(Result.UNDELIVERABLE, reason="no channel accepted the message")


def _classify(channel: Channel, code: int | None, message: str) -> Outcome:
    if code == UNFOLLOWED:
        return Outcome(Result.UNFOLLOWED, channel, code, "recipient unfollowed")
    if code == QUOTA:
        return Outcome(Result.PAUSE, channel, code, "daily API quota reached")
    if code in PERMANENT:
        return Outcome(Result.UNDELIVERABLE, channel, code, PERMANENT[code])
    # -1 (system busy), HTTP 5xx (errcode None) and anything unknown: try again later.
    return Outcome(Result.RETRY, channel, code, message[:200])


def _send(api: WeChatAPI, channel: Channel, templates: dict[str, str], push: Push) -> None:
    payload = push.payload
    if channel is Channel.CUSTOM:
        api.post("message/custom/send", {"touser": push.openid, "msgtype": "text",
                                         "text": {"content": payload["text"]}})
        return
    fields = payload.get("fields") or {"content": payload["text"]}
    body = {"touser": push.openid, "template_id": templates[push.kind],
            "data": {k: {"value": str(v)} for k, v in fields.items()},
            # WeChat drops a repeat of this id within 10 minutes: a crash between
            # sending and recording cannot turn into a second template message.
            "client_msg_id": f"linli-outbox-{push.id}"}
    if payload.get("url"):
        body["url"] = payload["url"]
    api.post("message/template/send", body)
