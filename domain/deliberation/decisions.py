"""Steps three to five of 五步议事: a topic goes on a meeting's agenda, its decisions become
items with an owner and a due date that are reminded, progressed and finished (finishing
the last resolves the report it came from), and the outcome is publicised (公示)."""
from __future__ import annotations

import re
from datetime import date, timedelta

from sqlalchemy import select

from core.clock import local
from core.outbox import message
from core.texts import text
from core.words import clip
from domain import audit, broadcasts, residents
from domain.actor import Actor
from domain.deliberation.topics import tell_followers
from domain.errors import Refused
from domain.reports import lifecycle
from domain.reports.paths import AGENDA_STATUSES, DELIBERATIONS
from domain.unit import Unit, use_case
from models import (
    OPEN_STATUSES,
    DecisionItem,
    ItemStatus,
    Meeting,
    Report,
    Resident,
    Status,
    Topic,
    TopicStatus,
)

MAX_ITEMS = 20
MOBILE = re.compile(r"1\d{10}")


def _staff(actor: Actor, topic: Topic) -> None:
    if not actor.is_staff_of(topic.community_id):
        raise Refused("not_allowed")


@use_case
def schedule(uow: Unit, actor: Actor, topic: Topic, meeting: Meeting) -> Topic:
    """The topic goes on a coming meeting's agenda (议事会 / 四方联席会议)."""
    _staff(actor, topic)
    if topic.status not in (TopicStatus.PROPOSED, TopicStatus.COLLECTING):
        raise Refused("topic_closed", code=topic.code, status=text(f"topic_status_{topic.status.value}"))
    if meeting.community_id != topic.community_id or meeting.starts_at <= uow.now or \
            meeting.status not in AGENDA_STATUSES or meeting.type not in DELIBERATIONS:
        raise Refused("agenda_bad_meeting")
    meeting.agenda = [*meeting.agenda, {"text": f"{topic.code} {topic.title}", "topic_id": topic.id}]
    before = topic.status.value
    topic.status, topic.meeting_id, topic.updated_at = TopicStatus.SCHEDULED, meeting.id, uow.now
    tell_followers(uow, topic, text("push_topic_scheduled", code=topic.code, title=topic.title,
                                    meeting=meeting.title, when=local(uow.config, meeting.starts_at),
                                    place=meeting.place), f"scheduled:{meeting.id}")
    audit.record(uow, actor, "topic_schedule", f"topic:{topic.code}", {"status": before},
                 {"status": "scheduled", "meeting": meeting.id})
    return topic


@use_case
def decide(uow: Unit, actor: Actor, topic: Topic, items: list[dict]) -> list[DecisionItem]:
    """Record what was decided: items of {text, owner, due_on, owner_id?}, each carried out
    by its owner (a person or a party) by its date."""
    _staff(actor, topic)
    if topic.status in (TopicStatus.DECLINED, TopicStatus.CARRIED_OUT, TopicStatus.PUBLICISED):
        raise Refused("topic_closed", code=topic.code, status=text(f"topic_status_{topic.status.value}"))
    if topic.status is TopicStatus.PROPOSED:  # 五步: opinions are heard (or a meeting held) first
        raise Refused("decision_too_early", code=topic.code)
    if not 1 <= len(items) <= MAX_ITEMS:
        raise Refused("decision_needs_items", n=MAX_ITEMS)
    made = []
    for n, item in enumerate(items, start=1):
        words, owner = (item.get("text") or "").strip(), (item.get("owner") or "").strip()
        due = item.get("due_on")
        if not words or not owner or not isinstance(due, date):
            raise Refused("decision_bad_item", n=n)
        if due < uow.now.astimezone(uow.config.tz).date():
            raise Refused("decision_due_past")
        owner, owner_id = _owner(uow, topic, owner, item.get("owner_id"))
        made.append(DecisionItem(topic_id=topic.id, text=clip(words, 200), owner=clip(owner, 64),
                                 owner_id=owner_id, due_on=due, status=ItemStatus.OPEN,
                                 progress=[], created_at=uow.now))
    uow.session.add_all(made)
    before = topic.status.value
    topic.status, topic.updated_at = TopicStatus.DECIDED, uow.now
    uow.session.flush()
    summary = "；".join(f"{i.text}（{i.owner}，{i.due_on:%m月%d日}前）" for i in made)
    tell_followers(uow, topic, text("push_topic_decided", code=topic.code, title=topic.title,
                                    summary=clip(summary, 300)), "decided")
    for item in made:
        if item.owner_id:
            uow.push(item.owner_id, "decision_item", message(
                text("push_item_assigned", text=item.text, due=f"{item.due_on:%m月%d日}", code=topic.code),
                _facts(topic, item, "item_status_open")), f"decision:{item.id}:assigned")
    audit.record(uow, actor, "topic_decide", f"topic:{topic.code}", {"status": before},
                 {"status": "decided", "items": [i.text for i in made]})
    return made


def _owner(uow: Unit, topic: Topic, owner: str, owner_id: int | None) -> tuple[str, int | None]:
    """Who is reminded: the resident named by a mobile in the owner ("黄姨 13800002222", the
    number then dropped) or by their registered name; a party (物业, 业委会) is reminded by
    staff."""
    if owner_id is not None:
        return owner, owner_id
    if (mobile := MOBILE.search(owner)) is not None:
        found = residents.by_mobile(uow, mobile.group(0), topic.community_id)
        return (MOBILE.sub("", owner).strip() or owner), (found.id if found else None)
    named = uow.session.scalars(select(Resident.id).where(
        Resident.community_id == topic.community_id, Resident.name == owner,
        Resident.followed.is_(True)).limit(2)).all()
    return owner, named[0] if len(named) == 1 else None


def public_owner(item: DecisionItem) -> str:
    """The owner as public output shows it: a party by name, a resident only as 居民."""
    return text("board_owner_resident") if item.owner_id else item.owner


def _facts(topic: Topic, item: DecisionItem, status_key: str) -> dict:
    return {"code": topic.code, "category": item.text, "status": text(status_key),
            "time": item.due_on.isoformat(), "community": topic.community_id}


def _carry(uow: Unit, actor: Actor, item: DecisionItem, note: str) -> tuple[Topic, str]:
    """Its owner (or staff) writes down how an open item is getting on."""
    topic = uow.session.get(Topic, item.topic_id)
    if not (actor.is_staff_of(topic.community_id) or (item.owner_id and actor.resident_id == item.owner_id)):
        raise Refused("not_allowed")
    note = clip((note or "").strip(), 200) or ""
    if not note:
        raise Refused("c_note_required")
    if item.status is not ItemStatus.OPEN:
        raise Refused("decision_item_done")
    item.progress = [*item.progress, {"at": uow.now.isoformat(), "by": actor.display[:64], "note": note}]
    return topic, note


@use_case
def note_progress(uow: Unit, actor: Actor, item: DecisionItem, note: str) -> DecisionItem:
    _, note = _carry(uow, actor, item, note)
    audit.record(uow, actor, "decision_progress", f"decision:{item.id}", None, {"note": note})
    return item


@use_case
def complete(uow: Unit, actor: Actor, item: DecisionItem, note: str) -> Topic:
    """An item is done; the last one carries the topic out and resolves the report it came
    from (its reporter and followers are told, as for any resolution)."""
    topic, note = _carry(uow, actor, item, note)
    item.status, item.done_at = ItemStatus.DONE, uow.now
    uow.session.flush()
    left = uow.session.scalar(select(DecisionItem.id).where(DecisionItem.topic_id == topic.id,
                                                            DecisionItem.status == ItemStatus.OPEN))
    if left is None:
        topic.status, topic.updated_at = TopicStatus.CARRIED_OUT, uow.now
        report = uow.session.get(Report, topic.report_id) if topic.report_id else None
        if report is not None and report.status in OPEN_STATUSES:
            if report.status is Status.SUBMITTED:
                lifecycle.move(uow, report, Status.ACCEPTED, actor=actor.display, note=None)
            if report.status is Status.ACCEPTED:
                lifecycle.move(uow, report, Status.IN_PROGRESS, actor=actor.display, note=None)
            lifecycle.move(uow, report, Status.RESOLVED, actor=actor.display,
                           note=text("event_topic_carried_out", code=topic.code, title=topic.title))
        tell_followers(uow, topic, text("push_topic_carried_out", code=topic.code, title=topic.title),
                       "carried_out")
    audit.record(uow, actor, "decision_done", f"decision:{item.id}", {"status": "open"},
                 {"status": "done", "note": note})
    return topic


@use_case
def publicise(uow: Unit, actor: Actor, topic: Topic) -> Topic:
    """公示: the decisions and how far each has got go to the topic's whole audience, and the
    topic shows on the community's public board."""
    _staff(actor, topic)
    if topic.status not in (TopicStatus.DECIDED, TopicStatus.CARRIED_OUT):
        raise Refused("topic_not_decided", code=topic.code)
    items = uow.session.scalars(select(DecisionItem).where(DecisionItem.topic_id == topic.id)
                                .order_by(DecisionItem.id)).all()
    lines = "\n".join(text("publicity_line", text=i.text, owner=public_owner(i), due=f"{i.due_on:%m月%d日}",
                           status=text(f"item_status_{i.status.value}")) for i in items)
    broadcasts.notice(uow, actor, title=text("publicity_title", title=topic.title)[:64],
                      text=text("publicity_notice", code=topic.code, title=topic.title, items=lines,
                                url=f"{uow.config.server.public_url}/board/{topic.community_id}"),
                      audience=topic.audience)
    before = topic.status.value
    if topic.status is TopicStatus.CARRIED_OUT:
        topic.status = TopicStatus.PUBLICISED
    topic.updated_at = uow.now
    audit.record(uow, actor, "topic_publicise", f"topic:{topic.code}", {"status": before},
                 {"status": topic.status.value})
    return topic


def remind_owners(uow: Unit) -> int:
    """Owners of open items hear `remind_days_before` days before the due date, and once on
    each day it is overdue; returns how many reminders were queued."""
    today = uow.now.astimezone(uow.config.tz).date()
    soon = today + timedelta(days=uow.config.deliberation.remind_days_before)
    sent = 0
    with uow.sweep():
        for item in uow.session.scalars(select(DecisionItem).where(
                DecisionItem.status == ItemStatus.OPEN, DecisionItem.owner_id.is_not(None),
                DecisionItem.due_on <= soon)):
            overdue = item.due_on < today
            key = f"decision:{item.id}:{'overdue:' + today.isoformat() if overdue else 'soon'}"
            uow.push(item.owner_id, "decision_item", message(
                text("push_item_overdue" if overdue else "push_item_due", text=item.text,
                     due=f"{item.due_on:%m月%d日}"),
                _facts(uow.session.get(Topic, item.topic_id), item,
                       "item_overdue" if overdue else "item_status_open")), key)
            sent += 1
    return sent
