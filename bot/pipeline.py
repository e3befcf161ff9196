"""One inbound message, exactly once: claim → resident → route → reply, one commit.

The claim row (keyed by the dedup key) is inserted first in the same
transaction that runs the handler and stores the reply. A concurrent retry's
insert therefore waits on the first transaction (PostgreSQL row lock, SQLite
write lock) and, once it commits, finds the stored reply instead of running the
handler again. A failed handler rolls back its claim, so WeChat's retry runs it
afresh.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from wechatpy.replies import TextReply

from bot.config import Config
from bot.context import Context, Reply
from bot.conversation import ConversationState
from bot.db import insert_ignore, transaction
from bot.inbound import Incoming
from bot.router import Router
from models import Conversation, ProcessedMessage, Resident, utcnow

# Events that do not come from a person talking to us: never create a resident.
SYSTEM_EVENTS = {"unsubscribe", "templatesendjobfinish", "masssendjobfinish"}
# Events that open WeChat's short customer-service window (3 messages in a minute).
WINDOW_EVENTS = {"subscribe", "scan", "click"}

# The conversation is read only after this lock is granted: in PostgreSQL a row
# joined into the locking query would come from the snapshot taken before the wait.
LOAD_RESIDENT = select(Resident).where(Resident.openid == bindparam("openid")).with_for_update()
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

    @property
    def idle_timeout(self) -> timedelta:
        return timedelta(minutes=self.config.get_path("conversation.idle_timeout_minutes"))

    def handle(self, msg: Incoming) -> str:
        with transaction(self.sessions) as session:
            claim_owner = None if msg.event in SYSTEM_EVENTS else msg.openid
            claimed = insert_ignore(session, ProcessedMessage.__table__,
                                     {"key": msg.dedup_key, "openid": claim_owner,
                                      "created_at": utcnow()}, ["key"])
            if not claimed:
                return self._stored_reply(session, msg.dedup_key)
            now = utcnow()
            resident, conversation = self._resident(session, msg, now)
            ctx = Context(session=session, resident=resident, config=self.config, now=now,
                          conversation=ConversationState(session, resident.id if resident else None,
                                                         now, self.idle_timeout, conversation),
                          router=self.router)
            reply = self.router.dispatch(ctx, msg)
            xml = render(reply, msg)
            session.execute(STORE_REPLY, {"k": msg.dedup_key, "reply": xml})
            return xml

    def _stored_reply(self, session: Session, key: str) -> str:
        return session.scalar(STORED_REPLY, {"k": key}) or ""

    def _resident(self, session: Session, msg: Incoming,
                  now) -> tuple[Resident | None, Conversation | None]:
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
