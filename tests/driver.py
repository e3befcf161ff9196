"""The fast tier: feed WeChat messages straight to the pipeline, inside one transaction.

No HTTP, no AES, no threads: a `Chat` builds each message as WeChat would
(the same fields `bot.inbound` validates), hands it to the app's pipeline and
reads the reply XML back. Everything the test writes happens inside one outer
transaction on one connection (commits become savepoint releases), rolled back
when the test ends, and the clock is a `ManualClock` the test moves.
"""
from __future__ import annotations

import itertools
import secrets
from dataclasses import dataclass, field

from defusedxml.ElementTree import fromstring
from sqlalchemy import select

from bot.inbound import parse_xml, to_incoming
from core.clock import ManualClock
from models import OutboxMessage, Resident
from simulator.wechat_side import build_xml

_msg_ids = itertools.count(10 ** 12)
ACCOUNT = "gh_linli_test"


@dataclass
class Person:
    """One follower; every method returns what their phone would show (reply text or None)."""

    chat: "Chat"
    openid: str
    nickname: str
    last_reply: str | None = None
    replies: list[str] = field(default_factory=list)

    def send(self, type: str = "text", **body) -> str | None:
        """One message or event, written the way the simulator's page writes it."""
        fields = _fields(type, body)
        # A second passes per message, as between real taps (events are deduplicated by time).
        fields.setdefault("CreateTime", int(self.chat.clock.advance(seconds=1).timestamp()))
        xml = build_xml({"ToUserName": ACCOUNT, "FromUserName": self.openid, **fields})
        answer = self.chat.app.extensions["linli.pipeline"].handle(to_incoming(parse_xml(xml)))
        self.last_reply = fromstring(answer).findtext("Content") if answer else None
        if self.last_reply is not None:
            self.replies.append(self.last_reply)
        return self.last_reply

    def say(self, content: str) -> str | None:
        return self.send("text", content=content)

    def voice(self, recognition: str | None = None) -> str | None:
        return self.send("voice", recognition=recognition)

    def send_image(self, media_id: str | None = None) -> str | None:
        return self.send("image", media_id=media_id)

    def send_location(self, lat, lng, label: str = "") -> str | None:
        return self.send("location", lat=lat, lng=lng, label_text=label)

    def follow(self, scene: str | None = None) -> str | None:
        return self.send("subscribe", scene=scene)

    def unfollow(self) -> str | None:
        return self.send("unsubscribe")

    def scan(self, scene: str) -> str | None:
        return self.send("scan", scene=scene)

    def click(self, key: str) -> str | None:
        return self.send("click", key=key)

    @property
    def resident(self) -> Resident | None:
        return self.chat.resident(self.openid)

    def pushes(self, kind: str | None = None) -> list[OutboxMessage]:
        """What was queued for this person (the outbox), oldest first."""
        me = self.resident
        if me is None:
            return []
        query = select(OutboxMessage).where(OutboxMessage.resident_id == me.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list(self.chat.db.scalars(query.order_by(OutboxMessage.id)))

    def push_texts(self, kind: str | None = None) -> list[str]:
        return [p.payload.get("text", "") for p in self.pushes(kind)]


def _fields(kind: str, body: dict) -> dict:
    """WeChat's fields for a message or event described as the simulator's control API does."""
    base = {"CreateTime": body["create_time"]} if body.get("create_time") else {}
    msg = {**base, "MsgType": kind, "MsgId": str(body.get("msg_id") or next(_msg_ids))}
    if kind == "text":
        return {**msg, "Content": body.get("content", "")}
    if kind == "voice":
        extra = {"Recognition": body["recognition"]} if body.get("recognition") else {}
        return {**msg, "MediaId": secrets.token_hex(8), "Format": "amr", **extra}
    if kind == "image":
        media_id = secrets.token_hex(12) if body.get("media_id") is None else body["media_id"]
        return {**msg, "PicUrl": f"http://media.test/{media_id}", **({"MediaId": media_id} if media_id else {})}
    if kind == "location":
        return {**msg, "Location_X": body.get("lat", 23.0435), "Location_Y": body.get("lng", 112.9165),
                "Scale": 15, "Label": body.get("label_text", "")}
    if kind == "link":
        return {**msg, "Title": body.get("title", "链接"), "Description": "", "Url": body.get("url", "")}
    if kind == "video":
        return {**msg, "MediaId": secrets.token_hex(8), "ThumbMediaId": secrets.token_hex(8)}
    event = {**base, "MsgType": "event"}
    if kind == "subscribe":
        scene = body.get("scene")
        return {**event, "Event": "subscribe", **({"EventKey": f"qrscene_{scene}", "Ticket": "t"} if scene else {})}
    if kind in ("unsubscribe",):
        return {**event, "Event": "unsubscribe"}
    if kind == "scan":
        return {**event, "Event": "SCAN", "EventKey": body.get("scene", ""), "Ticket": "t"}
    if kind == "click":
        return {**event, "Event": "CLICK", "EventKey": body.get("key", "")}
    if kind == "location_event":
        return {**event, "Event": "LOCATION", "Latitude": body.get("lat", 23.0435),
                "Longitude": body.get("lng", 112.9165), "Precision": 30}
    if kind == "raw":
        return {**base, **(body.get("fields") or {})}
    raise ValueError(f"unknown type {kind!r}")


class Chat:
    """Personas talking to the app in-process; `db` sees everything they caused."""

    def __init__(self, app, session, clock: ManualClock):
        self.app, self.db, self.clock = app, session, clock
        self._count = itertools.count(1)

    def persona(self, nickname: str = "someone", openid: str | None = None) -> Person:
        return Person(self, openid or f"o{nickname}{next(self._count):04d}{secrets.token_hex(4)}",
                      nickname)

    def resident(self, openid: str) -> Resident | None:
        self.db.expire_all()
        return self.db.scalars(select(Resident).where(Resident.openid == openid)).first()

    def registered(self, nickname: str = "alice", mobile: str = "跳过", name: str = "跳过",
                   scene: str = "jinning", address: str = "3栋2单元") -> Person:
        """A persona who followed through a community's QR code and finished registration."""
        person = self.persona(nickname)
        person.follow(scene=scene)
        person.say("1")  # agree to the privacy notice
        person.say(name)
        person.say(address)
        person.say(mobile)
        return person
