"""One inbound message, exactly once: claim → resident → route → reply, one commit.

The first statement locks the sender's row (stamping their last message in the
same UPDATE), so one person's messages run one at a time; the claim row (keyed
by the dedup key) is inserted last, with the reply, in the same transaction. A
retry of a message still running therefore waits on the lock; once the first
run commits, the retry's claim conflicts and the retry is rolled back and
answered with the stored reply: the handler's work counts once. A failed
handler keeps no claim, so WeChat's retry runs it afresh; a deadlock or
serialization failure runs the whole message again here, a few times, before
anyone is told the system is busy. Four statements a message: lock+stamp,
conversation, claim+reply, commit (plus what the handler itself needs).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker
from wechatpy.replies import TextReply

from bot.context import Context, Reply
from bot.inbound import Incoming
from bot.router import Router
from bot.state import ConversationState
from core.clock import Clock
from core.config import Config
from core.db import ROW_LOCK, insert_ignore, run_in_transaction
from core.texts import text
from domain.errors import Refused
from domain.unit import Unit
from models import Conversation, ProcessedMessage, Resident

log = logging.getLogger(__name__)
# Events that do not come from a person talking to us: never create a resident.
SYSTEM_EVENTS = {"unsubscribe", "templatesendjobfinish", "masssendjobfinish"}
# Events that open WeChat's short customer-service window (3 messages in a minute).
WINDOW_EVENTS = {"subscribe", "scan", "click"}

# The sender's row is locked first (stamping their last message or event in the same
# UPDATE), by Core statements that skip the ORM; the resident and their conversation are
# then read together, after the lock is granted (in PostgreSQL a row joined into the
# locking statement would come from the snapshot taken before the wait).
_residents, _processed = Resident.__table__, ProcessedMessage.__table__
LOCK = {None: select(_residents.c.id).where(_residents.c.openid == bindparam("sender"))
        .with_for_update(**ROW_LOCK)}
LOCK.update({column: update(_residents).where(_residents.c.openid == bindparam("sender"))
             .values({column: bindparam("stamp")}).returning(_residents.c.id)
             for column in ("last_message_at", "last_event_at")})
LOAD = (select(Resident, Conversation).outerjoin(Conversation, Conversation.resident_id == Resident.id)
        .where(Resident.id == bindparam("rid")))
STORED_REPLY = select(_processed.c.reply).where(_processed.c.key == bindparam("k"))


@dataclass
class Pipeline:
    """Turns an `Incoming` into reply XML ('' when there is nothing to say)."""

    config: Config
    sessions: sessionmaker[Session]
    router: Router
    clock: Clock

    @property
    def idle_timeout(self) -> timedelta:
        return timedelta(minutes=self.config.conversation.idle_timeout_minutes)

    def handle(self, msg: Incoming) -> str:
        """The reply XML; a handler that crashed answers the busy text and keeps no claim."""
        try:
            return run_in_transaction(self.sessions, lambda session: self._handle(session, msg))
        except Duplicate as duplicate:
            return duplicate.reply
        except Exception:
            log.exception("handler failed for %s message from %s…", msg.kind, msg.openid[:8])
            return render(Reply(text("busy")), msg)

    def _handle(self, session: Session, msg: Incoming) -> str:
        now = self.clock.now()
        resident, conversation = self._resident(session, msg, now)
        ctx = Context(uow=Unit(session, self.config, self.clock), resident=resident,
                      conversation=ConversationState(session, resident.id if resident else None,
                                                     now, self.idle_timeout, conversation),
                      router=self.router)
        try:
            reply = self.router.dispatch(ctx, msg)
        except Refused as refusal:
            # A refusal a handler did not word itself still reaches the person, kindly.
            reply = Reply(refusal.message).then(text("menu_hint"))
        xml = render(reply, msg)
        claim = {"key": msg.dedup_key, "openid": None if msg.event in SYSTEM_EVENTS else msg.openid,
                 "created_at": now, "reply": xml}
        if not insert_ignore(session, ProcessedMessage.__table__, claim, ["key"]):
            # A retry of a message already answered (it waited on the sender's row lock
            # until the first run committed): undo this run, answer as the first time.
            raise Duplicate(session.scalar(STORED_REPLY, {"k": msg.dedup_key}) or "")
        return xml

    def _resident(self, session: Session, msg: Incoming,
                  now: datetime) -> tuple[Resident | None, Conversation | None]:
        """Load the sender under a row lock (serialises one person's messages), stamping the
        last message or event in the same statement; create the resident on first contact;
        then their conversation."""
        column = "last_message_at" if not msg.is_event else (
            "last_event_at" if msg.event in WINDOW_EVENTS else None)
        connection, values = session.connection(), {"sender": msg.openid, "stamp": now}
        resident_id = connection.execute(LOCK[column], values).scalar()
        if resident_id is None:
            if msg.event in SYSTEM_EVENTS:
                return None, None
            insert_ignore(session, _residents, {"openid": msg.openid, "followed": True,
                                                "followed_at": now, "created_at": now}, ["openid"])
            resident_id = connection.execute(LOCK[column], values).scalar_one()
        resident, conversation = session.execute(LOAD, {"rid": resident_id}).one()
        return resident, conversation


class Duplicate(Exception):
    """Raised to roll back a retried message's second run; carries the stored reply."""

    def __init__(self, reply: str):
        super().__init__("duplicate message")
        self.reply = reply


def render(reply: Reply | None, msg: Incoming) -> str:
    """Passive-reply XML addressed back to the sender, or '' for none."""
    if reply is None:
        return ""
    return TextReply(source=msg.account, target=msg.openid, time=int(time.time()),
                     content=reply.text).render()
