"""Delivery commands: `python -m linli broadcast …` and `python -m linli outbox …`."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from cli.base import unit
from core.config import load_config
from core.outbox import requeue, status_counts
from domain.actor import Actor
from domain.broadcasts import cancel, create, preview, progress
from models import Broadcast, Community, OutboxMessage, OutboxStatus, Strategy


def parse_audience(session, spec: str) -> dict:
    """all | community:<name or id> | grid:<id> | building:<id> | role:<role>[@<community>]."""
    kind, _, value = spec.partition(":")
    if kind == "all":
        return {"type": "all"}
    if kind == "role":
        role, _, community = value.partition("@")
        audience = {"type": "role", "role": role}
        if community:
            audience["id"] = community_id(session, community)
        return audience
    if kind == "community":
        return {"type": "community", "id": community_id(session, value)}
    if kind in ("grid", "building") and value.isdigit():
        return {"type": kind, "id": int(value)}
    raise SystemExit(f"audience {spec!r} not understood: {parse_audience.__doc__}")


def community_id(session, value: str) -> int:
    if value.isdigit():
        return int(value)
    found = session.scalar(select(Community.id).where(Community.name == value))
    if found is None:
        raise SystemExit(f"no community named {value!r}")
    return found


def broadcast(args) -> None:
    """Preview or schedule a notice to an audience."""
    config = load_config()
    with unit(config) as uow:
        audience = parse_audience(uow.session, args.audience)
        strategy = Strategy(args.strategy)
        counts = preview(uow.session, config, audience, strategy, uow.now)
        print("recipients by channel:", json.dumps(counts, ensure_ascii=False))
        if args.preview:
            return
        send_at = datetime.fromisoformat(args.at).replace(tzinfo=config.tz) if args.at else None
        made = create(uow, Actor.cli(args.by), title=args.title, text=args.text, audience=audience,
                      strategy=strategy, send_at=send_at, urgent=args.urgent)
        print(f"broadcast {made.id} scheduled for {made.send_at.astimezone(config.tz):%Y-%m-%d %H:%M}")


def broadcast_status(args) -> None:
    """Progress of one broadcast, or cancel it with --cancel."""
    with unit(load_config()) as uow:
        found = uow.session.get(Broadcast, args.id)
        if found is None:
            raise SystemExit(f"no broadcast {args.id}")
        if args.cancel:
            print(f"cancelled; {cancel(uow, Actor.cli(args.by), found)} queued messages withdrawn")
        print(json.dumps(progress(uow.session, found), ensure_ascii=False))


def outbox(args) -> None:
    """Outbox counts per status; --requeue-failed puts dead letters back."""
    with unit(load_config()) as uow:
        if args.requeue_failed:
            ids = list(uow.session.scalars(select(OutboxMessage.id).where(
                OutboxMessage.status == OutboxStatus.FAILED)))
            print(f"requeued {requeue(uow.session, ids, uow.now)} failed messages")
        print(json.dumps(status_counts(uow.session)))


def add_commands(sub) -> None:
    p = sub.add_parser("broadcast", help=broadcast.__doc__)
    p.add_argument("--title", default="社区通知")
    p.add_argument("--text", required=True)
    p.add_argument("--audience", required=True, help=parse_audience.__doc__)
    p.add_argument("--strategy", default="per_resident", choices=[s.value for s in Strategy])
    p.add_argument("--at", help="local time YYYY-MM-DD HH:MM (default: now)")
    p.add_argument("--urgent", action="store_true", help="ignore quiet hours")
    p.add_argument("--preview", action="store_true", help="only count recipients")
    p.add_argument("--by", default="cli")
    p.set_defaults(func=broadcast)
    p = sub.add_parser("broadcast-status", help=broadcast_status.__doc__)
    p.add_argument("id", type=int)
    p.add_argument("--cancel", action="store_true")
    p.add_argument("--by", default="cli")
    p.set_defaults(func=broadcast_status)
    p = sub.add_parser("outbox", help=outbox.__doc__)
    p.add_argument("--requeue-failed", action="store_true")
    p.set_defaults(func=outbox)
