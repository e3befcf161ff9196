"""WeChat's channel rules for one push: which channel, in which order, and what an error means.

1. Customer-service message (the full text) when the resident wrote within 48 hours.
2. Otherwise (or when WeChat answers 45015/45047) a subscription notification
   (订阅通知), if `wechat.subscriptions.<kind>` is set and the resident allowed that
   template (a one-time grant is used up by the send; 43101 means it is gone).
3. Then a template message, if `wechat.templates.<kind>` is set.
4. Otherwise the push is undeliverable, and the reason says which channels were missing.
Template and subscription fields are filled from the push's facts (`core.notices`) and
link to the resident page that shows everything.
- 43004: the person unfollowed → stop. 45009: daily quota → pause the kind.
- -1, HTTP errors and timeouts → retry later with backoff.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

import requests
from wechatpy.exceptions import WeChatClientException

from core import notices
from core.config import Config
from core.outbox import CUSTOMER_SERVICE_WINDOW
from core.texts import text
from core.wechat_api import WeChatAPI
from models import Channel

WINDOW_CLOSED = {45015, 45047}
NO_GRANT = 43101
UNFOLLOWED = 43004
QUOTA = 45009
# Errors that will not change by trying again: the push cannot be delivered this way.
PERMANENT = {40003: "invalid openid", 40037: "template id refused by WeChat",
             47001: "malformed message", 47003: "a field WeChat refused", 44003: "empty message"}


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
    used_grant: str | None = None  # a one-time subscription grant this send used up
    lost_grant: str | None = None  # a grant WeChat no longer honours (43101)


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
    # Subscription templates the resident allowed: id → long-term (True) or one-time.
    grants: dict[str, bool] = field(default_factory=dict)
    resident_id: int | None = None


def deliver(api: WeChatAPI, config: Config, push: Push, now: datetime) -> Outcome:
    """Try the channels the rules allow, in order, and say what happened."""
    if not push.openid or not push.followed:
        return Outcome(Result.CANCELLED, reason="recipient unfollowed")
    if push.expires_at is not None and push.expires_at <= now:
        return Outcome(Result.CANCELLED, reason="no longer relevant")
    wechat = config.wechat
    subscription, template = wechat.subscriptions.get(push.kind), wechat.templates.get(push.kind)
    channels = []
    if push.last_message_at is not None and now - push.last_message_at < CUSTOMER_SERVICE_WINDOW:
        channels.append(Channel.CUSTOM)
    if subscription is not None and subscription.id in push.grants:
        channels.append(Channel.SUBSCRIPTION)
    if template is not None:
        channels.append(Channel.TEMPLATE)
    if not channels:
        return Outcome(Result.UNDELIVERABLE, reason=_why_not(push, subscription is not None))
    last, lost = None, None
    for channel in channels:
        try:
            _send(api, config, channel, push)
        except WeChatClientException as exc:
            code = exc.errcode
            if code in WINDOW_CLOSED or code == NO_GRANT:
                if code == NO_GRANT:
                    lost = subscription.id
                last = Outcome(Result.UNDELIVERABLE, channel, code,
                               _why_not(push, subscription is not None, after=code), lost_grant=lost)
                continue
            return _classify(channel, code, str(exc.errmsg or exc), lost)
        except requests.RequestException as exc:
            return Outcome(Result.RETRY, channel, None, type(exc).__name__, lost_grant=lost)
        one_time = channel is Channel.SUBSCRIPTION and not push.grants[subscription.id]
        used = subscription.id if one_time else None
        return Outcome(Result.SENT, channel, used_grant=used, lost_grant=lost)
    return last or Outcome(Result.UNDELIVERABLE, reason="no channel accepted the message")


def _why_not(push: Push, has_subscription: bool, after: int | None = None) -> str:
    """The reason staff read in the console: what would have reached this person."""
    start = f"WeChat refused ({after}); " if after else "outside the 48-hour window; "
    if has_subscription:
        return start + f"not subscribed to '{push.kind}' and no template for it"
    return start + f"no subscription notification or template for '{push.kind}'"


def _classify(channel: Channel, code: int | None, message: str, lost: str | None) -> Outcome:
    if code == UNFOLLOWED:
        return Outcome(Result.UNFOLLOWED, channel, code, "recipient unfollowed", lost_grant=lost)
    if code == QUOTA:
        return Outcome(Result.PAUSE, channel, code, "daily API quota reached", lost_grant=lost)
    if code in PERMANENT:
        return Outcome(Result.UNDELIVERABLE, channel, code, f"{PERMANENT[code]}: {message}"[:200],
                       lost_grant=lost)
    # -1 (system busy), HTTP 5xx (errcode None) and anything unknown: try again later.
    return Outcome(Result.RETRY, channel, code, message[:200], lost_grant=lost)


def _send(api: WeChatAPI, config: Config, channel: Channel, push: Push) -> None:
    payload = push.payload
    facts = payload.get("facts") or {}
    page = notices.page_for(push.kind, facts)
    url = f"{config.server.public_url.rstrip('/')}{page}" if page else None
    if channel is Channel.CUSTOM:
        content = payload["text"] + ("\n" + text("push_details", url=url) if url else "")
        api.post("message/custom/send", {"touser": push.openid, "msgtype": "text",
                                         "text": {"content": content}})
        return
    if channel is Channel.SUBSCRIPTION:
        use = config.wechat.subscriptions[push.kind]
        body = {"touser": push.openid, "template_id": use.id,
                "data": notices.fill(use.fields, facts, config.tz, subscription=True)}
        if url:
            body["page"] = url
        api.post("message/subscribe/bizsend", body)
        return
    use = config.wechat.templates[push.kind]
    body = {"touser": push.openid, "template_id": use.id,
            "data": notices.fill(use.fields, facts, config.tz, subscription=False),
            # WeChat drops a repeat of this id within 10 minutes: a crash between
            # sending and recording cannot turn into a second template message.
            "client_msg_id": f"linli-outbox-{push.id}"}
    if url:
        body["url"] = url
    api.post("message/template/send", body)
