"""Human handoff (人工服务): a resident's chat answered by the community's staff.

Opened when the resident asks for a person or the bot failed to understand them three
times in a row; while open, their words go to the console's chat inbox. Staff answer
with customer-service messages, which WeChat allows only within 48 hours of the
resident's last message, and end the handoff (or the resident does, with 结束).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import ContactPoint
from core.outbox import CUSTOMER_SERVICE_WINDOW, message
from core.texts import text
from core.workdays import is_workday
from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.reports.routing import community_staff
from domain.unit import Unit, use_case
from models import Community, Handoff, HandoffMessage, HandoffStatus, Resident

MAX_ANSWER = 600
MAX_KEPT = 2000  # a resident's message kept for staff (longer text is cut)
REPLY_KIND = "handoff_reply"


@dataclass(frozen=True)
class Office:
    """Where and when people answer: the community's contact point, open now or not."""

    contact: ContactPoint
    community: str
    open_now: bool
    next_open: datetime | None  # local time the office next opens (None: open now)


def contact_of(uow: Unit, community_id: int | None) -> tuple[str, ContactPoint]:
    """The community's name and contact point (the default one before registration)."""
    # by primary key: the webhook has the person's own community in the session already
    community = uow.session.get(Community, community_id) if community_id else None
    name = community.name if community else None
    return name or "", uow.config.contact.for_community(name)


def office(uow: Unit, community_id: int | None) -> Office:
    """Is the community's office answering now (working day, office hours), else when next."""
    name, contact = contact_of(uow, community_id)
    local = uow.now.astimezone(uow.config.tz)
    opens, closes = (_at(local, contact.opens), _at(local, contact.closes))
    if is_workday(local.date()) and opens <= local < closes:
        return Office(contact, name, True, None)
    day = local if local < opens else local + timedelta(days=1)
    for _ in range(40):  # the longest run of holidays is well under that
        if is_workday(day.date()):
            break
        day += timedelta(days=1)
    return Office(contact, name, False, _at(day, contact.opens))


def _at(day: datetime, hhmm: str) -> datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def when_answered(uow: Unit, community_id: int | None) -> str:
    """What the resident is told about who answers and when."""
    desk = office(uow, community_id)
    who = desk.community or text("handoff_staff_generic")
    if desk.open_now:
        return text("handoff_opened_now", who=who, minutes=desk.contact.answer_within_minutes,
                    phone=desk.contact.phone)
    return text("handoff_opened_later", who=who, when=f"{desk.next_open:%m月%d日 %H:%M}",
                hours=desk.contact.hours_text, phone=desk.contact.phone)


@use_case
def open_for(uow: Unit, resident: Resident, reason: str) -> tuple[Handoff, bool]:
    """The resident's open handoff (True when opened now); staff who follow are told."""
    if resident.handoff_id is not None:
        current = uow.session.get(Handoff, resident.handoff_id)
        if current is not None and current.status is HandoffStatus.OPEN:
            return current, False
    handoff = Handoff(resident_id=resident.id, community_id=resident.community_id, reason=reason,
                      opened_at=uow.now, last_message_at=uow.now)
    uow.session.add(handoff)
    uow.session.flush()
    resident.handoff_id, resident.misunderstood = handoff.id, 0
    if resident.community_id is not None:
        body = text("push_handoff_opened", community=contact_of(uow, resident.community_id)[0])
        for staff_id in community_staff(uow.session, resident.community_id):
            if staff_id != resident.id:
                uow.push(staff_id, "handoff_opened", message(body, {
                    "item": text("notice_handoff"), "count": 1, "time": uow.now}),
                    f"handoff:{handoff.id}:opened:{staff_id}")
    return handoff, True


def current(uow: Unit, resident: Resident) -> Handoff | None:
    if resident.handoff_id is None:
        return None
    handoff = uow.session.get(Handoff, resident.handoff_id)
    if handoff is None or handoff.status is not HandoffStatus.OPEN:
        resident.handoff_id = None
        return None
    return handoff


@use_case
def hear(uow: Unit, handoff: Handoff, body: str) -> HandoffMessage:
    """Keep what the resident wrote for staff to read."""
    said = HandoffMessage(handoff=handoff, direction="in", body=body[:MAX_KEPT], created_at=uow.now)
    uow.session.add(said)
    handoff.last_message_at = uow.now
    return said


def _staff_may(actor: Actor, handoff: Handoff) -> None:
    if not actor.is_staff_of(handoff.community_id):
        raise Refused("handoff_not_allowed")


def window_closes(session: Session, handoff: Handoff) -> datetime | None:
    """When WeChat stops accepting answers to this resident (None: never wrote)."""
    last = session.scalar(select(Resident.last_message_at).where(Resident.id == handoff.resident_id))
    return last + CUSTOMER_SERVICE_WINDOW if last else None


@use_case
def answer(uow: Unit, actor: Actor, handoff: Handoff, body: str) -> HandoffMessage:
    """Staff answer: sent as a customer-service message while WeChat's window is open."""
    _staff_may(actor, handoff)
    words = (body or "").replace("\x00", "").strip()
    if not words:
        raise Refused("handoff_answer_empty")
    if len(words) > MAX_ANSWER:
        raise Refused("handoff_answer_long", limit=MAX_ANSWER)
    if handoff.status is not HandoffStatus.OPEN:
        raise Refused("handoff_closed_already")
    closes = window_closes(uow.session, handoff)
    if closes is None or closes <= uow.now:
        raise Refused("handoff_window_closed")
    said = HandoffMessage(handoff=handoff, direction="out", body=words, author=actor.display[:64],
                          created_at=uow.now)
    uow.session.add(said)
    uow.session.flush()
    uow.push(handoff.resident_id, REPLY_KIND,
             message(text("handoff_answer", who=actor.display, body=words)),
             f"handoff:{handoff.id}:answer:{said.id}", urgent=True, expires_at=closes)
    audit.record(uow, actor, "handoff.answer", f"handoff:{handoff.id}", after={"text": words[:200]})
    return said


@use_case
def close(uow: Unit, actor: Actor, handoff: Handoff) -> None:
    """End the handoff (staff, or the resident themself); the resident is back with the bot."""
    own = actor.resident_id is not None and actor.resident_id == handoff.resident_id
    if not own:
        _staff_may(actor, handoff)
    if handoff.status is not HandoffStatus.OPEN:
        raise Refused("handoff_closed_already")
    handoff.status, handoff.closed_at, handoff.closed_by = HandoffStatus.CLOSED, uow.now, actor.label[:64]
    resident = uow.session.get(Resident, handoff.resident_id)
    if resident is not None and resident.handoff_id == handoff.id:
        resident.handoff_id = None
    if not own:
        closes = window_closes(uow.session, handoff)
        if closes is not None and closes > uow.now:
            uow.push(handoff.resident_id, REPLY_KIND, message(text("handoff_closed_by_staff")),
                     f"handoff:{handoff.id}:closed", urgent=True, expires_at=closes)
        audit.record(uow, actor, "handoff.close", f"handoff:{handoff.id}")


def mark_read(uow: Unit, actor: Actor, handoff: Handoff) -> int:
    """Staff opened the chat: the resident's messages so far are read."""
    _staff_may(actor, handoff)
    unread = [m for m in handoff.messages if m.direction == "in" and m.read_at is None]
    for said in unread:
        said.read_at = uow.now
    return len(unread)


@dataclass(frozen=True)
class InboxRow:
    handoff: Handoff
    resident: Resident
    unread: int
    last_text: str


def inbox(session: Session, actor: Actor, status: HandoffStatus = HandoffStatus.OPEN,
          limit: int = 50) -> list[InboxRow]:
    """Handoffs the actor may answer, newest message first, with unread counts."""
    unread = (select(HandoffMessage.handoff_id, func.count().label("n"))
              .where(HandoffMessage.direction == "in", HandoffMessage.read_at.is_(None))
              .group_by(HandoffMessage.handoff_id).subquery())
    query = (select(Handoff, Resident, func.coalesce(unread.c.n, 0))
             .join(Resident, Resident.id == Handoff.resident_id)
             .outerjoin(unread, unread.c.handoff_id == Handoff.id)
             .where(Handoff.status == status)
             .order_by(Handoff.last_message_at.desc()).limit(limit))
    if not actor.is_admin:
        query = query.where(Handoff.community_id == actor.community_id)
    rows = session.execute(query).all()
    last = {}
    if rows:
        newest = (select(HandoffMessage.handoff_id, func.max(HandoffMessage.id))
                  .where(HandoffMessage.handoff_id.in_([h.id for h, _, _ in rows]))
                  .group_by(HandoffMessage.handoff_id))
        ids = [i for _, i in session.execute(newest)]
        last = {m.handoff_id: m.body for m in session.scalars(
            select(HandoffMessage).where(HandoffMessage.id.in_(ids)))}
    return [InboxRow(h, r, n, last.get(h.id, "")) for h, r, n in rows]


def unread_total(session: Session, actor: Actor) -> int:
    """Unread resident messages in open handoffs the actor may answer (the console's badge)."""
    query = (select(func.count()).select_from(HandoffMessage).join(Handoff)
             .where(Handoff.status == HandoffStatus.OPEN, HandoffMessage.direction == "in",
                    HandoffMessage.read_at.is_(None)))
    if not actor.is_admin:
        query = query.where(Handoff.community_id == actor.community_id)
    return session.scalar(query) or 0
