"""One inbound message, exactly once: claim → resident → route → reply, one commit.

Two ways through, with the same guarantees. A message from a known person is first
answered from a read snapshot, without any lock (on SQLite, without its one write
lock); then one short write inserts the claim with the reply, bumps the person's
`message_seq` only if it still holds the value the snapshot read, and writes the
conversation step: on SQLite a transaction of three statements, on PostgreSQL one
statement outside any transaction block (two round trips a message, not four). A
handler that wants to write anything else, a message of the same person committed
meanwhile, or a first contact send the message down the locked way instead.

The locked way: the first statement locks the sender's row (stamping their last
message and bumping `message_seq` in the same UPDATE), so one person's messages
run one at a time; the claim row (keyed by the dedup key) is inserted last, with
the reply, in the same transaction. A retry of a message still running waits on
the lock; once the first run commits, the retry's claim conflicts and the retry
is rolled back and answered with the stored reply: the handler's work counts
once. A failed handler keeps no claim, so WeChat's retry runs it afresh; a
deadlock or serialization failure runs the whole message again here, a few
times, before anyone is told the system is busy.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Executable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from wechatpy.replies import TextReply

from bot.context import Context, Reply
from bot.inbound import Incoming
from bot.router import Router
from bot.state import ConversationState, Step
from bot.statements import (
    BUMP_IF_UNCHANGED,
    CLAIM,
    COMMUNITY,
    ID,
    LOAD_BY_ID,
    LOAD_BY_SENDER,
    LOCK,
    LOCK_AND_LOAD,
    PERSON,
    SEQ,
    SNAPSHOT_COMMIT,
    STORED_REPLY,
    claim_with_step,
)
from core.clock import Clock
from core.config import Config
from core.db import (
    core_transaction,
    execute_fast,
    insert_ignore,
    insert_ignore_core,
    run_in_transaction,
    write_guard,
)
from core.rows import persistent
from core.texts import text
from domain.errors import Refused
from domain.unit import Unit
from models import Community, ProcessedMessage, Resident

log = logging.getLogger(__name__)
_residents, _processed = Resident.__table__, ProcessedMessage.__table__
# Events that do not come from a person talking to us: never create a resident.
SYSTEM_EVENTS = {"unsubscribe", "templatesendjobfinish", "masssendjobfinish"}
# Events that open WeChat's short customer-service window (3 messages in a minute).
WINDOW_EVENTS = {"subscribe", "scan", "click"}

@dataclass
class Pipeline:
    """Turns an `Incoming` into reply XML ('' when there is nothing to say)."""

    config: Config
    sessions: sessionmaker[Session]
    router: Router
    clock: Clock
    # Sessions that only read: SQLite's deferred transactions, PostgreSQL's autocommit (no
    # BEGIN or COMMIT round trip); None: every message takes the locked way.
    snapshot_sessions: sessionmaker[Session] | None = None
    # Conversation steps (flow, step) whose last message wrote: the next message there takes
    # the locked way at once, instead of running its handler twice (refused in a snapshot,
    # then locked). A locked run there that writes nothing lets the snapshot be tried again.
    writing_steps: set[tuple[str, str]] = field(default_factory=set)

    @property
    def idle_timeout(self) -> timedelta:
        return timedelta(minutes=self.config.conversation.idle_timeout_minutes)

    def handle(self, msg: Incoming) -> str:
        """The reply XML; a handler that crashed answers the busy text and keeps no claim."""
        try:
            xml = self._from_snapshot(msg) if self.snapshot_sessions and not msg.is_event else None
            if xml is None:
                xml = run_in_transaction(self.sessions, lambda session: self._locked(session, msg))
            return xml
        except Duplicate as duplicate:
            return duplicate.reply
        except Exception:
            log.exception("handler failed for %s message from %s…", msg.kind, msg.openid[:8])
            return render(Reply(text("busy")), msg)

    def _from_snapshot(self, msg: Incoming) -> str | None:
        """The reply worked out from a read snapshot and committed in one short write;
        None when the message must take the locked way (see the module docstring)."""
        now = self.clock.now()
        session = self.snapshot_sessions()
        guard = place = None
        try:
            with write_guard(session.connection(), refuse=True) as guard:
                rows = execute_fast(session.connection(), LOAD_BY_SENDER, {"sender": msg.openid})
                if not rows:
                    return None
                resident, conversation = _person(session, rows[0])
                # as read here: a handler may read the person's row again, newer
                seen = rows[0][SEQ]
                place = _place(conversation)
                if place in self.writing_steps:
                    return None
                ctx = self._context(session, resident, conversation, now)
                xml = self._reply(ctx, msg)
            if guard.wrote or _pending(session):
                self._wrote(place, True)
                return None
            bump = {"rid": resident.id, "seen": seen, "stamp": now}
            if session.connection().dialect.name == "postgresql":
                # PostgreSQL reads outside any transaction block: the commit is one statement
                # (the session's commit sends nothing; in a test tier it ends its savepoint)
                xml = self._commit_in_one(session.connection(), msg, bump, ctx.conversation, xml)
                session.commit()
                return xml
        except DBAPIError:
            return None
        except Exception:
            if guard is not None and guard.wrote:
                # refused (perhaps turned by the handler into another error)
                self._wrote(place, True)
                return None
            raise
        finally:
            session.close()
        try:  # SQLite: a short write transaction, after the snapshot's read has ended
            with core_transaction(self.sessions) as connection:
                self._claim(connection, msg, xml, now)
                if not execute_fast(connection, BUMP_IF_UNCHANGED, bump):
                    raise Stale()
                ctx.conversation.save(connection)
                return xml
        except Stale:
            return None

    def _commit_in_one(self, connection: Connection, msg: Incoming, bump: dict,
                       conversation: ConversationState, xml: str) -> str | None:
        """PostgreSQL: sequence check, claim and conversation step in one statement that
        writes nothing when the snapshot is stale (None then)."""
        how, values = conversation.change() or (None, {})
        claim = self._claim_values(msg, xml, bump["stamp"])
        (bumped, claimed, *_), = execute_fast(connection, SNAPSHOT_COMMIT[how], {**bump, **claim, **values})
        if not bumped:
            return None
        if not claimed:  # a claim made before the person's row was (see SNAPSHOT_COMMIT)
            raise Duplicate(connection.execute(STORED_REPLY, {"k": claim["key"]}).scalar() or "")
        return xml

    def _locked(self, session: Session, msg: Incoming) -> str:
        now = self.clock.now()
        resident, conversation, created = self._resident(session, msg, now)
        ctx = self._context(session, resident, conversation, now)
        with write_guard(session.connection(), refuse=False) as guard:
            xml = self._reply(ctx, msg)
        wrote = guard.wrote or _pending(session)
        self._wrote(_place(conversation), wrote)
        session.flush()  # the handler's rows go first, then its step and the claim
        connection = session.connection()
        quiet = not (created or wrote or ctx.conversation.changed)
        if connection.dialect.name == "postgresql":
            self._claim(connection, msg, xml, now, quiet, ctx.conversation.pending(connection))
        else:
            ctx.conversation.save(connection)
            self._claim(connection, msg, xml, now)
        return xml

    def _context(self, session: Session, resident: Resident | None, conversation: Step | None,
                 now: datetime) -> Context:
        return Context(uow=Unit(session, self.config, self.clock), resident=resident,
                       conversation=ConversationState(resident.id if resident else None, now,
                                                      self.idle_timeout, conversation),
                       router=self.router)

    def _reply(self, ctx: Context, msg: Incoming) -> str:
        try:
            reply = self.router.dispatch(ctx, msg)
        except Refused as refusal:
            # A refusal a handler did not word itself still reaches the person, kindly.
            reply = Reply(refusal.message).then(text("menu_hint"))
        return render(reply, msg)

    def _claim(self, connection: Connection, msg: Incoming, xml: str, now: datetime,
               quiet: bool = False, step: tuple[Executable, dict] | None = None) -> None:
        """Insert the claim with its reply. On PostgreSQL it carries the conversation step
        (`step`), and a `quiet` message's commit does not wait for the WAL flush."""
        claim = self._claim_values(msg, xml, now)
        if connection.dialect.name != "postgresql":
            inserted = insert_ignore_core(connection, _processed, claim, ["key"])
        elif step is None:
            inserted = bool(execute_fast(connection, CLAIM[quiet], claim))
        else:
            inserted = bool(execute_fast(connection, claim_with_step(quiet, step[0]), {**claim, **step[1]}))
        if not inserted:
            # A retry of a message already answered (on the locked way it waited on the
            # sender's row lock until the first run committed): undo this run, answer as
            # the first time.
            raise Duplicate(connection.execute(STORED_REPLY, {"k": msg.dedup_key}).scalar() or "")

    @staticmethod
    def _claim_values(msg: Incoming, xml: str, now: datetime) -> dict:
        return {"key": msg.dedup_key, "openid": None if msg.event in SYSTEM_EVENTS else msg.openid,
                "created_at": now, "reply": xml}

    def _resident(self, session: Session, msg: Incoming,
                  now: datetime) -> tuple[Resident | None, Step | None, bool]:
        """Load the sender under a row lock (serialises one person's messages), stamping the
        last message or event in the same statement; create the resident on first contact
        (the flag says so); then their conversation."""
        column = "last_message_at" if not msg.is_event else (
            "last_event_at" if msg.event in WINDOW_EVENTS else None)
        values, created = {"sender": msg.openid, "stamp": now}, False
        row = self._lock(session.connection(), column, values)
        if row is None and msg.event not in SYSTEM_EVENTS:
            insert_ignore(session, _residents, {"openid": msg.openid, "followed": True,
                                                "followed_at": now, "created_at": now}, ["openid"])
            row, created = self._lock(session.connection(), column, values), True
        return (*_person(session, row), created) if row is not None else (None, None, False)

    def _lock(self, connection: Connection, column: str | None, values: dict) -> tuple | None:
        """The sender's row, locked and stamped, with their conversation; None if unknown."""
        if connection.dialect.name == "postgresql":
            rows = execute_fast(connection, LOCK_AND_LOAD[column], values)
            if not rows or rows[0][-1] == 1:  # the last column: `moved`
                return rows[0] if rows else None
            return execute_fast(connection, LOAD_BY_ID, {"rid": rows[0][ID]})[0]
        locked = execute_fast(connection, LOCK[column], values)
        return execute_fast(connection, LOAD_BY_ID, {"rid": locked[0][0]})[0] if locked else None

    def _wrote(self, place: tuple[str, str] | None, wrote: bool) -> None:
        if place is not None:
            (self.writing_steps.add if wrote else self.writing_steps.discard)(place)


def _place(conversation: Step | None) -> tuple[str, str] | None:
    """Where in a conversation the message comes (None outside one: there the words
    decide, and most read)."""
    return (conversation.flow, conversation.step) if conversation is not None else None


def _person(session: Session, row: tuple) -> tuple[Resident, Step | None]:
    """The person (in `session`) and their conversation step from a `LOAD` row."""
    resident = persistent(session, Resident, row[:PERSON])
    community = (persistent(session, Community, row[PERSON:PERSON + COMMUNITY])
                 if resident.community_id is not None else None)
    set_committed_value(resident, "community", community)
    flow, step, data, updated_at, has_roles = row[PERSON + COMMUNITY:PERSON + COMMUNITY + 5]
    if not has_roles:
        set_committed_value(resident, "roles", [])
    return resident, Step(flow, step, data, updated_at) if flow is not None else None


def _pending(session: Session) -> bool:
    """ORM changes the snapshot would have to write (it writes only the conversation)."""
    return bool(session.new or session.deleted or any(session.is_modified(o) for o in session.dirty))


class Duplicate(Exception):
    """Raised to roll back a retried message's second run; carries the stored reply."""

    def __init__(self, reply: str):
        super().__init__("duplicate message")
        self.reply = reply


class Stale(Exception):
    """Another message of the same person committed after the snapshot was read."""


def render(reply: Reply | None, msg: Incoming) -> str:
    """Passive-reply XML addressed back to the sender, or '' for none."""
    if reply is None:
        return ""
    return TextReply(source=msg.account, target=msg.openid, time=int(time.time()),
                     content=reply.text).render()
