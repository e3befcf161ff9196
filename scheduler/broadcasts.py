"""Starting due broadcasts: per-resident fan-out, or a WeChat mass send by community tag.

Per-resident: one INSERT … SELECT writes an outbox row per recipient (dedup key
`broadcast:<id>:<resident>`, so a restart cannot double it); the dispatcher
does the rest. Mass send: the community's tag is brought up to date (50 at a
time), then `mass/sendall` with `clientmsgid = linli-broadcast-<id>` so a retry
after a crash is refused by WeChat (45065) rather than delivered twice.
"""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import String, cast, func, literal, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from core.db import ROW_LOCK, transaction
from core.outbox import message
from core.texts import text
from domain.broadcasts import KIND, apply_mass_report, audience_query, community_of
from models import (
    Broadcast,
    BroadcastStatus,
    Community,
    CommunityTag,
    OutboxMessage,
    OutboxStatus,
    PlatformEvent,
    Resident,
    Strategy,
)

log = logging.getLogger("linli.broadcasts")
TAG_BATCH = 50
MASS_ID_USED = 45065
TAG_EXISTS = 45157


def start_due(rt, now: datetime | None = None) -> list[int]:
    """Start every scheduled broadcast whose time has come; finish completed ones."""
    now = now or rt.clock.now()
    with rt.sessions() as session:
        due = list(session.scalars(select(Broadcast.id).where(
            Broadcast.status == BroadcastStatus.SCHEDULED, Broadcast.send_at <= now)
            .order_by(Broadcast.send_at)))
        unsent_mass = list(session.scalars(select(Broadcast.id).where(
            Broadcast.status == BroadcastStatus.SENDING, Broadcast.strategy == Strategy.MASS_TAG,
            Broadcast.mass_msg_id.is_(None))))
    for broadcast_id in due:
        start(rt, broadcast_id, now)
    for broadcast_id in unsent_mass:  # interrupted between claiming and WeChat's answer
        _mass_send(rt, broadcast_id)
    finish(rt, now)
    return due


def start(rt, broadcast_id: int, now: datetime) -> None:
    with transaction(rt.sessions) as session:
        broadcast = session.get(Broadcast, broadcast_id, with_for_update=ROW_LOCK)
        if broadcast is None or broadcast.status is not BroadcastStatus.SCHEDULED:
            return
        broadcast.status, broadcast.started_at = BroadcastStatus.SENDING, now
        if broadcast.strategy is Strategy.PER_RESIDENT:
            session.execute(_fan_out(session, broadcast, now))
            broadcast.recipients = session.scalar(select(func.count()).select_from(OutboxMessage)
                                                  .where(OutboxMessage.broadcast_id == broadcast.id))
            log.info("broadcast %d: %d recipients queued", broadcast.id, broadcast.recipients)
    if broadcast.strategy is Strategy.MASS_TAG:
        _mass_send(rt, broadcast_id)


def _fan_out(session: Session, broadcast: Broadcast, now: datetime):
    recipients = audience_query(broadcast.audience).subquery()
    community_id = community_of(session, broadcast.audience)
    issuer = session.get(Community, community_id).name if community_id else text("notice_issuer_all")
    payload = message(broadcast.text, {"title": broadcast.title, "community": issuer,
                                       "time": broadcast.send_at, "notice": broadcast.id})
    source = select(
        recipients.c.id, literal(KIND), literal(payload, OutboxMessage.payload.type),
        literal(broadcast.urgent), literal(0),
        literal(f"broadcast:{broadcast.id}:") + cast(recipients.c.id, String),
        literal(OutboxStatus.PENDING.value), literal(0),
        literal(now, OutboxMessage.next_attempt_at.type), literal(broadcast.id),
        # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT.
        literal(now, OutboxMessage.created_at.type)).where(true())
    columns = ["resident_id", "kind", "payload", "urgent", "priority", "dedup_key", "status",
               "attempts", "next_attempt_at", "broadcast_id", "created_at"]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return (dialect.insert(OutboxMessage.__table__).from_select(columns, source)
            .on_conflict_do_nothing(index_elements=["dedup_key"]))


def finish(rt, now: datetime) -> None:
    """Per-resident broadcasts with nothing left to send are done; mass sends are done
    once WeChat's MASSSENDJOBFINISH is in (it may have arrived before the msg_id was
    recorded, when the webhook could not yet match it)."""
    with transaction(rt.sessions) as session:
        reported = session.execute(select(Broadcast, PlatformEvent).join(
            PlatformEvent, PlatformEvent.msg_id == Broadcast.mass_msg_id).where(
            Broadcast.status == BroadcastStatus.SENDING, PlatformEvent.event == "masssendjobfinish"))
        for broadcast, event in reported:
            apply_mass_report(broadcast, event.payload, now)
        open_rows = (select(OutboxMessage.id).where(
            OutboxMessage.broadcast_id == Broadcast.id,
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])).exists())
        for broadcast in session.scalars(select(Broadcast).where(
                Broadcast.status == BroadcastStatus.SENDING,
                Broadcast.strategy == Strategy.PER_RESIDENT, ~open_rows)):
            broadcast.status, broadcast.finished_at = BroadcastStatus.DONE, now


def _mass_send(rt, broadcast_id: int) -> None:
    with rt.sessions() as session:
        broadcast = session.get(Broadcast, broadcast_id)
        audience, text = dict(broadcast.audience), broadcast.text
    body = {"msgtype": "text", "text": {"content": text},
            "clientmsgid": f"linli-broadcast-{broadcast_id}"}
    try:
        if audience["type"] == "all":
            body["filter"] = {"is_to_all": True}
        else:
            body["filter"] = {"is_to_all": False, "tag_id": sync_tag(rt, audience["id"])}
        answer = rt.api.post("message/mass/sendall", body)
        msg_id, error = str(answer.get("msg_id")), None
    except WeChatClientException as exc:
        msg_id = "already-sent" if exc.errcode == MASS_ID_USED else None
        error = None if msg_id else f"{exc.errcode}: {exc.errmsg}"
    with transaction(rt.sessions) as session:
        broadcast = session.get(Broadcast, broadcast_id)
        broadcast.mass_msg_id, broadcast.error = msg_id, error
        if error:
            broadcast.status = BroadcastStatus.DONE
            broadcast.finished_at = rt.clock.now()
            log.error("broadcast %d mass send refused: %s", broadcast_id, error)


def sync_tag(rt, community_id: int) -> int:
    """Ensure the community's tag exists and carries every follower of the community."""
    with rt.sessions() as session:
        tag = session.get(CommunityTag, community_id)
        name = session.get(Community, community_id).name
    if tag is None:
        tag_id = _create_tag(rt, name)
        with transaction(rt.sessions) as session:
            session.merge(CommunityTag(community_id=community_id, tag_id=tag_id))
    else:
        tag_id = tag.tag_id
    while True:
        with rt.sessions() as session:
            batch = list(session.execute(select(Resident.id, Resident.openid).where(
                Resident.community_id == community_id, Resident.followed.is_(True),
                Resident.openid.is_not(None),
                (Resident.tagged_community_id.is_(None))
                | (Resident.tagged_community_id != community_id)).limit(TAG_BATCH)))
        if not batch:
            break
        rt.api.post("tags/members/batchtagging",
                    {"openid_list": [openid for _, openid in batch], "tagid": tag_id})
        with transaction(rt.sessions) as session:
            session.execute(Resident.__table__.update()
                            .where(Resident.id.in_([rid for rid, _ in batch]))
                            .values(tagged_community_id=community_id))
    with transaction(rt.sessions) as session:
        session.get(CommunityTag, community_id).synced_at = rt.clock.now()
    return tag_id


def _create_tag(rt, name: str) -> int:
    try:
        return int(rt.api.post("tags/create", {"tag": {"name": name[:30]}})["tag"]["id"])
    except WeChatClientException as exc:
        if exc.errcode != TAG_EXISTS:
            raise
        tags = rt.api.get("tags/get")["tags"]
        return int(next(t["id"] for t in tags if t["name"] == name[:30]))
