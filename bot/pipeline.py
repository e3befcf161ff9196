"""One inbound message, exactly once: claim → resident → route → reply, one commit.

The claim row (keyed by the dedup key) is inserted first in the same
transaction that runs the handler and stores the reply. A concurrent retry's
insert therefore waits on the first transaction (PostgreSQL row lock, SQLite
write lock) and, once it commits, finds the stored reply instead of running the
handler again. A failed handler rolls back its claim, so WeChat's retry runs it
afresh; a deadlock or serialization failure runs the whole message again here,
a few times, before anyone is told the system is busy.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
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

# The conversation is read only after this lock is granted: in PostgreSQL a row
# joined into the locking query would come from the snapshot taken before the wait.
LOAD_RESIDENT = (select(Resident).where(Resident.openid == bindparam("openid"))
                 .with_for_update(**ROW_LOCK))
# Core (not ORM) statements: the hot path skips the ORM's unit-of-work machinery.
_residents, _processed = Resident.__table__, ProcessedMessage.__table__
TOUCH = {column: update(_residents).where(_residents.c.id == bindparam("rid"))
         .values({column: bindparam("stamp")}) for column in ("last_message_at", "last_event_at")}
STORED_REPLY = select(_processed.c.reply).where(_processed.c.key == bindparam("k"))
STORE_REPLY = (update(_processed).where(_processed.c.key == bindparam("k"))
               .values(reply=bindparam("reply")))


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
        except Exception:
            log.exception("handler failed for %s message from %s…", msg.kind, msg.openid[:8])
            return render(Reply(text("busy")), msg)

    def _handle(self, session: Session, msg: Incoming) -> str:
        now = self.clock.now()
        claim_owner = None if msg.event in SYSTEM_EVENTS else msg.openid
        claimed = insert_ignore(session, ProcessedMessage.__table__,
                                {"key": msg.dedup_key, "openid": claim_owner, "created_at": now},
                                ["key"])
        if not claimed:
            return session.scalar(STORED_REPLY, {"k": msg.dedup_key}) or ""
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
        session.execute(STORE_REPLY, {"k": msg.dedup_key, "reply": xml})
        return xml

    def _resident(self, session: Session, msg: Incoming,
                  now: datetime) -> tuple[Resident | None, Conversation | None]:
        """Load the sender and their conversation under a row lock (serialises one
        person's messages); create the resident on first contact."""
        resident = session.scalars(LOAD_RESIDENT, {"openid": msg.openid}).first()
        if resident is None:
            if msg.event in SYSTEM_EVENTS:
                return None, None
            insert_ignore(session, Resident.__table__,
                          {"openid": msg.openid, "followed": True, "followed_at": now,
                           "created_at": now}, ["openid"])
            resident = session.scalars(LOAD_RESIDENT, {"openid": msg.openid}).one()
        conversation = session.get(Conversation, resident.id)
        column = "last_message_at" if not msg.is_event else (
            "last_event_at" if msg.event in WINDOW_EVENTS else None)
        if column:
            # A Core UPDATE, kept in step with the loaded object without dirtying it:
            # most messages then need no ORM flush at all.
            session.execute(TOUCH[column], {"rid": resident.id, "stamp": now})
            set_committed_value(resident, column, now)
        return resident, conversation


def render(reply: Reply | None, msg: Incoming) -> str:
    """Passive-reply XML addressed back to the sender, or '' for none."""
    if reply is None:
        return ""
    return TextReply(source=msg.account, target=msg.openid, time=int(time.time()),
                     content=reply.text).render()
