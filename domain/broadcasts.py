"""Staff broadcasts (通知): audience, preview, schedule, cancel, progress.

The audience is resolved to residents when the broadcast starts, not when it is
written, so a notice scheduled for tomorrow reaches tomorrow's followers.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from core.config import Config
from core.outbox import CUSTOMER_SERVICE_WINDOW, status_counts
from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.unit import Unit, use_case
from models import (
    Broadcast,
    BroadcastStatus,
    Building,
    Community,
    Grid,
    Meeting,
    OutboxMessage,
    OutboxStatus,
    Resident,
    ResidentRole,
    Role,
    Signup,
    SignupStatus,
    Strategy,
)

MAX_TEXT = 600
MASS_PER_MONTH = 4
KIND = "broadcast"


def _followers() -> Select:
    return select(Resident.id).where(Resident.followed.is_(True), Resident.openid.is_not(None))


def _community(q: Select, a: dict) -> Select:
    return q.where(Resident.community_id == a["id"])


def _grid(q: Select, a: dict) -> Select:
    return q.join(Building, Building.id == Resident.building_id).where(Building.grid_id == a["id"])


def _building(q: Select, a: dict) -> Select:
    return q.where(Resident.building_id == a["id"])


def _role(q: Select, a: dict) -> Select:
    q = q.join(ResidentRole, ResidentRole.resident_id == Resident.id).where(
        ResidentRole.role == Role(a["role"]))
    return q.where(Resident.community_id == a["id"]) if a.get("id") else q


def _meeting(q: Select, a: dict) -> Select:
    """Everyone signed up (confirmed or waitlisted) for a meeting."""
    signed = select(Signup.resident_id).where(Signup.meeting_id == a["id"],
                                              Signup.status != SignupStatus.CANCELLED)
    return q.where(Resident.id.in_(signed))


AUDIENCES: dict[str, Callable[[Select, dict], Select]] = {
    "all": lambda q, a: q, "community": _community, "grid": _grid, "building": _building,
    "role": _role, "meeting": _meeting,
}
TARGETS = {"community": Community, "grid": Grid, "building": Building, "meeting": Meeting}


def audience_query(audience: dict[str, Any]) -> Select:
    """Resident ids (followers) the audience covers."""
    kind = audience.get("type")
    if kind not in AUDIENCES:
        raise Refused("bc_unknown_audience", kind=str(kind)[:20])
    return AUDIENCES[kind](_followers(), audience)


def _check_audience(session: Session, audience: dict[str, Any]) -> None:
    kind = audience.get("type")
    if kind in TARGETS and session.get(TARGETS[kind], audience.get("id")) is None:
        raise Refused("bc_no_target", kind=kind, id=audience.get("id"))
    if kind == "role" and audience.get("role") not in {r.value for r in Role}:
        raise Refused("bc_unknown_role", role=str(audience.get("role"))[:20])


def preview(session: Session, config: Config, audience: dict, strategy: Strategy,
            now: datetime) -> dict[str, int]:
    """Recipients by the channel they would get now."""
    ids = audience_query(audience).subquery()
    total = session.scalar(select(func.count()).select_from(ids)) or 0
    if strategy is Strategy.MASS_TAG:
        return {"total": total, "mass": total}
    in_window = session.scalar(select(func.count()).select_from(Resident).where(
        Resident.id.in_(select(ids.c.id)), Resident.last_message_at > now - CUSTOMER_SERVICE_WINDOW)) or 0
    has_template = bool(config.wechat.templates.get(KIND))
    rest = total - in_window
    return {"total": total, "custom": in_window, "template": rest if has_template else 0,
            "undeliverable": 0 if has_template else rest}


def community_of(session: Session, audience: dict) -> int | None:
    """The community an audience lies in (None: the whole account)."""
    kind, ident = audience.get("type"), audience.get("id")
    if kind in ("community", "role"):
        return ident
    model = {"grid": Grid, "building": Building, "meeting": Meeting}.get(kind)
    row = session.get(model, ident) if model and isinstance(ident, int) else None
    return row.community_id if row else None


def _may_send(uow: Unit, actor: Actor, audience: dict) -> None:
    community_id = community_of(uow.session, audience)
    allowed = actor.is_admin if audience.get("type") == "all" else actor.is_staff_of(community_id)
    if not allowed:
        raise Refused("not_allowed")


def validate(uow: Unit, *, title: str, text: str, audience: dict, strategy: Strategy,
             send_at: datetime | None) -> None:
    """Every rule a broadcast must meet before it is scheduled."""
    if not text:
        raise Refused("bc_empty_text")
    if len(text) > MAX_TEXT:
        raise Refused("bc_too_long", limit=MAX_TEXT)
    if not title or len(title) > 64:
        raise Refused("bc_bad_title")
    _check_audience(uow.session, audience)
    if strategy is Strategy.MASS_TAG and audience.get("type") not in ("all", "community"):
        raise Refused("bc_mass_scope")
    if preview(uow.session, uow.config, audience, strategy, uow.now)["total"] == 0:
        raise Refused("bc_empty_audience")
    if send_at is not None and send_at < uow.now - timedelta(minutes=1):
        raise Refused("bc_past")
    if strategy is Strategy.MASS_TAG:
        _check_mass_quota(uow.session, uow.config, audience, send_at or uow.now)


@use_case
def create(uow: Unit, actor: Actor, *, title: str, text: str, audience: dict,
           strategy: Strategy = Strategy.PER_RESIDENT, send_at: datetime | None = None,
           urgent: bool = False) -> Broadcast:
    """Validate and schedule a broadcast (send_at None: as soon as the scheduler runs)."""
    text, title = (text or "").strip(), (title or "").strip()
    _may_send(uow, actor, audience)
    validate(uow, title=title, text=text, audience=audience, strategy=strategy, send_at=send_at)
    broadcast = _schedule(uow, actor, title=title, text=text, audience=audience,
                          strategy=strategy, send_at=send_at, urgent=urgent)
    audit.record(uow, actor, "broadcast_create", f"broadcast:{broadcast.id}", None,
                 {"title": broadcast.title, "audience": broadcast.audience,
                  "send_at": broadcast.send_at.isoformat()})
    return broadcast


def _schedule(uow: Unit, actor: Actor, *, title: str, text: str, audience: dict,
              strategy: Strategy, send_at: datetime | None, urgent: bool) -> Broadcast:
    broadcast = Broadcast(title=title, text=text, audience=audience, strategy=strategy,
                          status=BroadcastStatus.SCHEDULED, urgent=urgent,
                          send_at=send_at or uow.now, created_by=actor.label[:64], mass_result={},
                          created_at=uow.now)
    uow.session.add(broadcast)
    uow.session.flush()
    return broadcast


def notice(uow: Unit, actor: Actor, *, title: str, text: str, audience: dict) -> Broadcast | None:
    """A notice another use case sends (a meeting published): None when nobody follows yet."""
    try:
        validate(uow, title=title, text=text, audience=audience, strategy=Strategy.PER_RESIDENT,
                 send_at=None)
    except Refused:
        return None
    return _schedule(uow, actor, title=title, text=text, audience=audience,
                     strategy=Strategy.PER_RESIDENT, send_at=None, urgent=False)


def _check_mass_quota(session: Session, config: Config, audience: dict, when: datetime) -> None:
    """WeChat delivers at most 4 mass messages a month to a follower: a 5th reaches nobody."""
    local = when.astimezone(config.tz)
    month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month_end = (month_start + timedelta(days=32)).replace(day=1)
    earlier = session.scalars(select(Broadcast).where(
        Broadcast.strategy == Strategy.MASS_TAG, Broadcast.status != BroadcastStatus.CANCELLED,
        Broadcast.send_at >= month_start, Broadcast.send_at < month_end))
    overlapping = sum(1 for b in earlier if b.audience.get("type") == "all"
                      or audience.get("type") == "all" or b.audience.get("id") == audience.get("id"))
    if overlapping >= MASS_PER_MONTH:
        raise Refused("bc_mass_quota", n=MASS_PER_MONTH, month=f"{local:%Y-%m}")


@use_case
def cancel(uow: Unit, actor: Actor, broadcast: Broadcast) -> int:
    """Stop a broadcast: before it starts entirely, while sending what is not yet sent."""
    _may_send(uow, actor, broadcast.audience)
    if broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
        raise Refused("bc_already", id=broadcast.id, status=broadcast.status.value)
    if broadcast.strategy is Strategy.MASS_TAG and broadcast.status is BroadcastStatus.SENDING:
        raise Refused("bc_mass_sent")
    before = broadcast.status.value
    broadcast.status = BroadcastStatus.CANCELLED
    broadcast.finished_at = uow.now
    result = uow.session.execute(update(OutboxMessage).where(
        OutboxMessage.broadcast_id == broadcast.id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, last_error="broadcast cancelled"))
    withdrawn = result.rowcount or 0
    audit.record(uow, actor, "broadcast_cancel", f"broadcast:{broadcast.id}", {"status": before},
                 {"status": "cancelled", "withdrawn": withdrawn})
    return withdrawn


def progress(session: Session, broadcast: Broadcast) -> dict[str, Any]:
    """Queued/sent/failed/undeliverable counts for the console's progress bar."""
    counts = status_counts(session, broadcast.id)
    return {"id": broadcast.id, "status": broadcast.status.value, "recipients": broadcast.recipients,
            "queued": counts["pending"] + counts["sending"], "sent": counts["sent"],
            "failed": counts["failed"], "undeliverable": counts["undeliverable"],
            "cancelled": counts["cancelled"], "mass": broadcast.mass_result or None}


MASS_COUNTS = ("Status", "TotalCount", "FilterCount", "SentCount", "ErrorCount")


def apply_mass_report(broadcast: Broadcast, fields: dict[str, Any], now: datetime) -> None:
    """Record WeChat's MASSSENDJOBFINISH counts; the broadcast is then done."""
    broadcast.mass_result = {k: fields.get(k) for k in MASS_COUNTS}
    broadcast.status, broadcast.finished_at = BroadcastStatus.DONE, now
