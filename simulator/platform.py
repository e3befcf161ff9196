"""The simulated WeChat platform's state and rules (one official account).

Everything the API side checks lives here: access tokens (a new one
invalidates the old after a 5-minute overlap), followers, the customer-service
window (48 h / 5 messages after a message; 1 min / 3 after a click, follow or
scan), the account's templates and subscription templates with their keywords
(`rules`), people's subscription grants (one-time grants are used up), web sign-in
codes (single use, 5 minutes) and the JS-SDK ticket, tags, the 4-a-month mass
quota, daily API quotas and injected faults. All state is in memory behind one lock: the simulator is a
single process, like the platform it stands in for is a single service.
"""
from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from simulator import rules
from simulator.errors import ApiError

__all__ = ["ApiError", "Fault", "Platform", "User"]

TOKEN_TTL = 7200
CODE_TTL = 300
TOKEN_OVERLAP = 300
WINDOW_MESSAGE = (48 * 3600, 5)
WINDOW_EVENT = (60, 3)
MASS_PER_MONTH = 4
MAX_TAGS, MAX_TAGS_PER_USER, MAX_BATCH = 100, 20, 50


@dataclass
class User:
    openid: str
    nickname: str
    followed: bool = False
    subscribe_time: int = 0
    window_opened: float = 0.0
    window_kind: str = ""  # "message" | "event"
    window_used: int = 0
    tags: set[int] = field(default_factory=set)
    mass_received: dict[str, int] = field(default_factory=dict)  # "YYYY-MM" → count
    inbox: list[dict] = field(default_factory=list)
    # Subscription templates this person accepted: id → sends left (None: long-term).
    grants: dict[str, int | None] = field(default_factory=dict)


@dataclass
class Fault:
    """An injected failure for endpoints matching `endpoint` ('*' for all)."""

    endpoint: str
    kind: str  # http500 | errcode | latency | timeout
    errcode: int = -1
    latency_ms: int = 0
    remaining: int | None = None  # None: until cleared


class Platform:
    """State and rules; every public method takes the lock."""

    def __init__(self, appid: str, secret: str, templates: dict[str, dict] | None = None,
                 subscriptions: dict[str, dict] | None = None):
        """`templates` / `subscriptions`: id → {"title", "keys": {keyword: label}, "long_term"}."""
        self.appid, self.secret = appid, secret
        self.lock = threading.RLock()
        self.templates = dict(templates or {})
        self.subscriptions = dict(subscriptions or {})
        self.seq = itertools.count(1)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.clock_offset = 0.0
            self.tokens: dict[str, float] = {}  # token → expiry (epoch seconds)
            self.superseded: set[str] = set()  # replaced by a newer token
            self.stable_token: tuple[str, float] | None = None
            self.users: dict[str, User] = {}
            self.tags: dict[int, str] = {}
            self.menu: dict | None = None
            self.media: dict[str, tuple[bytes, str]] = {}
            self.deliveries: list[dict] = []
            self.faults: list[Fault] = []
            self.quotas: dict[str, int] = {}
            self.calls: dict[tuple[str, str], int] = {}
            self.client_msg_ids: dict[str, tuple[float, dict]] = {}
            self.mass_client_ids: set[str] = set()
            self.token_fetches = 0
            self.codes: dict[str, dict] = {}  # web sign-in code → openid, expiry, used
            self.ticket: tuple[str, float] | None = None

    # --- clock -------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.clock_offset

    def month(self) -> str:
        return datetime.fromtimestamp(self.now(), timezone.utc).strftime("%Y-%m")

    # --- tokens --------------------------------------------------------------
    def issue_token(self, appid: str, secret: str) -> dict:
        with self.lock:
            self._check_credentials(appid, secret)
            now = self.now()
            # Older tokens keep working for 5 minutes, then are "not latest" (40001).
            self.superseded.update(self.tokens)
            self.tokens = {t: min(exp, now + TOKEN_OVERLAP) for t, exp in self.tokens.items()}
            token = secrets.token_urlsafe(48)
            self.tokens[token] = now + TOKEN_TTL
            self.token_fetches += 1
            return {"access_token": token, "expires_in": TOKEN_TTL}

    def issue_stable_token(self, appid: str, secret: str, force: bool) -> dict:
        with self.lock:
            self._check_credentials(appid, secret)
            now = self.now()
            if self.stable_token and self.stable_token[1] > now and not force:
                token, expiry = self.stable_token
                return {"access_token": token, "expires_in": int(expiry - now)}
            token = secrets.token_urlsafe(48)
            self.stable_token = (token, now + TOKEN_TTL)
            self.tokens[token] = now + TOKEN_TTL
            self.token_fetches += 1
            return {"access_token": token, "expires_in": TOKEN_TTL}

    def _check_credentials(self, appid: str, secret: str) -> None:
        if appid != self.appid:
            raise ApiError(40013, "invalid appid")
        if secret != self.secret:
            raise ApiError(40001, "invalid credential, access_token is invalid or not latest")

    def check_token(self, token: str | None) -> None:
        if not token:
            raise ApiError(41001, "access_token missing")
        expiry = self.tokens.get(token)
        if expiry is None:
            raise ApiError(40001, "invalid credential, access_token is invalid or not latest")
        if expiry <= self.now():
            if token in self.superseded:
                raise ApiError(40001, "invalid credential, access_token is invalid or not latest")
            raise ApiError(42001, "access_token expired")

    def invalidate_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()
            self.stable_token = None

    # --- quotas and faults ---------------------------------------------------
    def count_call(self, endpoint: str) -> None:
        day = datetime.fromtimestamp(self.now(), timezone.utc).strftime("%Y-%m-%d")
        with self.lock:
            used = self.calls.get((endpoint, day), 0) + 1
            self.calls[(endpoint, day)] = used
            limit = self.quotas.get(endpoint)
            if limit is not None and used > limit:
                raise ApiError(45009, "reach max api daily quota limit")

    def take_fault(self, endpoint: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.endpoint in ("*", endpoint) and fault.remaining != 0:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return fault
            return None

    # --- followers -----------------------------------------------------------
    def user(self, openid: str, nickname: str | None = None) -> User:
        with self.lock:
            if openid not in self.users:
                self.users[openid] = User(openid, nickname or openid)
            return self.users[openid]

    def user_opened_window(self, openid: str, kind: str) -> None:
        """The user wrote (kind 'message') or clicked/followed/scanned ('event')."""
        with self.lock:
            user = self.user(openid)
            user.window_opened, user.window_kind, user.window_used = self.now(), kind, 0

    def set_followed(self, openid: str, followed: bool) -> None:
        with self.lock:
            user = self.user(openid)
            user.followed = followed
            if followed:
                user.subscribe_time = int(self.now())
            else:
                user.tags.clear()

    def follower(self, openid: str) -> User:
        user = self.users.get(openid)
        if user is None:
            raise ApiError(40003, "invalid openid")
        if not user.followed:
            raise ApiError(43004, "require subscribe")
        return user

    # --- deliveries ------------------------------------------------------------
    def record(self, user: User | None, channel: str, text: str, **extra: Any) -> dict:
        """Store a message the platform delivered (or a resident sent/received)."""
        entry = {"seq": next(self.seq), "channel": channel, "touser": user.openid if user else None,
                 "text": text, "at": self.now(), **extra}
        with self.lock:
            if channel not in ("user", "reply", "notice"):
                self.deliveries.append(entry)
            if user is not None:
                user.inbox.append(entry)
        return entry

    def send_custom(self, openid: str, text: str) -> dict:
        with self.lock:
            user = self.follower(openid)
            span, allowance = WINDOW_MESSAGE if user.window_kind == "message" else WINDOW_EVENT
            if not user.window_kind or self.now() - user.window_opened > span:
                raise ApiError(45015, "response out of time limit or subscription is canceled")
            if user.window_used >= allowance:
                raise ApiError(45047, "out of response count limit")
            user.window_used += 1
            self.record(user, "custom", text)
            return {"errcode": 0, "errmsg": "ok"}

    def send_template(self, openid: str, template_id: str, data: dict, url: str | None,
                      client_msg_id: str | None) -> tuple[dict, bool]:
        """Returns (answer, delivered-now); a repeated client_msg_id within 10 min is not resent."""
        with self.lock:
            template = self.templates.get(template_id)
            if template is None:
                raise ApiError(40037, "invalid template_id")
            user = self.follower(openid)
            shown = rules.template_fields(data, template["keys"])
            now = self.now()
            if client_msg_id:
                seen = self.client_msg_ids.get(client_msg_id)
                if seen and now - seen[0] < 600:
                    return seen[1], False
            msgid = next(self.seq)
            self.record(user, "template", _card_text(template["title"], shown), template_id=template_id,
                        title=template["title"], fields=shown, url=url, msgid=msgid)
            answer = {"errcode": 0, "errmsg": "ok", "msgid": msgid}
            if client_msg_id:
                self.client_msg_ids[client_msg_id] = (now, answer)
            return answer, True

    def send_subscription(self, openid: str, template_id: str, data: dict, page: str | None) -> dict:
        """订阅通知 (bizsend): only to someone who accepted this template; values checked by type."""
        with self.lock:
            template = self.subscriptions.get(template_id)
            if template is None:
                raise ApiError(40037, "invalid template_id")
            user = self.follower(openid)
            if template_id not in user.grants:
                raise ApiError(43101, "user refuse to accept the msg")
            shown = rules.subscription_fields(data, template["keys"])
            left = user.grants[template_id]
            if left is not None:  # one-time: used up by this send
                if left <= 1:
                    del user.grants[template_id]
                else:
                    user.grants[template_id] = left - 1
            msgid = next(self.seq)
            self.record(user, "subscribe", _card_text(template["title"], shown), template_id=template_id,
                        title=template["title"], fields=shown, url=page, msgid=msgid)
            return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def grant(self, openid: str, template_ids: list[str], accept: bool) -> list[dict]:
        """The person answered the subscribe pop-up: what the popup event reports."""
        with self.lock:
            user = self.user(openid)
            answered = []
            for template_id in template_ids:
                template = self.subscriptions.get(template_id)
                if template is None:
                    continue
                if accept:
                    long_term = template.get("long_term", True)
                    user.grants[template_id] = None if long_term else (user.grants.get(template_id) or 0) + 1
                else:
                    user.grants.pop(template_id, None)
                answered.append({"TemplateId": template_id,
                                 "SubscribeStatusString": "accept" if accept else "reject"})
            return answered

    def revoke(self, openid: str, template_id: str) -> list[dict]:
        """The person switched a subscription off in WeChat's settings (change event)."""
        with self.lock:
            self.user(openid).grants.pop(template_id, None)
            return [{"TemplateId": template_id, "SubscribeStatusString": "reject"}]

    # --- web sign-in (网页授权) and the JS-SDK ticket ------------------------------------
    def issue_code(self, openid: str) -> str:
        with self.lock:
            code = secrets.token_urlsafe(24)
            self.codes[code] = {"openid": openid, "expires": self.now() + CODE_TTL, "used": False}
            return code

    def exchange_code(self, appid: str, secret: str, code: str) -> dict:
        """A code works once, within 5 minutes, for the account it was issued to."""
        with self.lock:
            self._check_credentials(appid, secret)
            issued = self.codes.get(code)
            if issued is None:
                raise ApiError(40029, "invalid code")
            if issued["used"]:
                raise ApiError(40163, "code been used")
            if issued["expires"] <= self.now():
                raise ApiError(42003, "code expired")
            issued["used"] = True
            return {"access_token": secrets.token_urlsafe(32), "expires_in": 7200,
                    "refresh_token": secrets.token_urlsafe(32), "openid": issued["openid"],
                    "scope": "snsapi_base"}

    def jsapi_ticket(self) -> dict:
        with self.lock:
            now = self.now()
            if self.ticket is None or self.ticket[1] <= now:
                self.ticket = (secrets.token_urlsafe(32), now + TOKEN_TTL)
            return {"errcode": 0, "errmsg": "ok", "ticket": self.ticket[0],
                    "expires_in": int(self.ticket[1] - now)}

    def send_mass(self, openids: list[str], text: str, client_msg_id: str | None) -> dict:
        """Deliver to each follower still under the 4-a-month quota; report counts."""
        with self.lock:
            if client_msg_id:
                if client_msg_id in self.mass_client_ids:
                    raise ApiError(45065, "clientmsgid exist")
                self.mass_client_ids.add(client_msg_id)
            month, sent, filtered = self.month(), 0, 0
            msg_id = next(self.seq)
            for openid in openids:
                user = self.users.get(openid)
                if user is None or not user.followed:
                    continue
                if user.mass_received.get(month, 0) >= MASS_PER_MONTH:
                    filtered += 1
                    continue
                user.mass_received[month] = user.mass_received.get(month, 0) + 1
                self.record(user, "mass", text, msg_id=msg_id)
                sent += 1
            return {"msg_id": msg_id, "total": len(openids), "sent": sent, "filtered": filtered}

    # --- tags -------------------------------------------------------------------
    def create_tag(self, name: str) -> dict:
        with self.lock:
            if not name or len(name) > 30:
                raise ApiError(45158, "tag name too long")
            if name in self.tags.values():
                raise ApiError(45157, "invalid tag name")
            if len(self.tags) >= MAX_TAGS:
                raise ApiError(45056, "too many tags")
            tag_id = max(self.tags, default=99) + 1
            self.tags[tag_id] = name
            return {"tag": {"id": tag_id, "name": name}}

    def tag_users(self, tag_id: int, openids: list[str]) -> None:
        with self.lock:
            if not openids or len(openids) > MAX_BATCH:
                raise ApiError(40032, "invalid openid list size")
            if tag_id not in self.tags:
                raise ApiError(45159, "invalid tag id")
            users = [self.follower(o) for o in openids]
            for user in users:
                if tag_id not in user.tags and len(user.tags) >= MAX_TAGS_PER_USER:
                    raise ApiError(45059, "has too many tags")
            for user in users:
                user.tags.add(tag_id)

    def tag_members(self, tag_id: int) -> list[str]:
        with self.lock:
            return [u.openid for u in self.users.values() if u.followed and tag_id in u.tags]


def _card_text(title: str, shown: list[dict]) -> str:
    return "\n".join([title] + [f"{f['label']}：{f['value']}" for f in shown])
