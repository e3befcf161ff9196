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
from simulator import messages
from simulator.wechat_side import build_xml

ACCOUNT = "gh_linli_test"


def _upload() -> dict:
    media_id = secrets.token_hex(12)
    return {"media_id": media_id, "pic_url": f"http://media.test/{media_id}"}


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
        # A second passes per message, as between real taps (events are deduplicated by time).
        now = lambda: self.chat.clock.advance(seconds=1).timestamp()  # noqa: E731
        fields = messages.fields(type, body, self.openid, _upload, now)
        if fields is None:
            raise ValueError(f"unknown type {type!r}")
        xml = build_xml({"ToUserName": ACCOUNT, **fields})
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
