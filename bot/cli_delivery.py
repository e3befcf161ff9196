"""Delivery commands: `python -m bot broadcast …` and `python -m bot outbox …`."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from bot.broadcasts import BroadcastError, cancel, create, preview, progress
from bot.config import load_config
from bot.db import make_engine, make_session_factory, transaction
from bot.outbox import requeue, status_counts
from models import Broadcast, Community, OutboxMessage, OutboxStatus, Strategy


def _unit():
    config = load_config()
    engine = make_engine(config.get_path("database.url"))
    return config, engine, make_session_factory(engine)


def parse_audience(session, spec: str) -> dict:
    """all | community:<name or id> | grid:<id> | building:<id> | role:<role>[@<community>]."""
    kind, _, value = spec.partition(":")
    if kind == "all":
        return {"type": "all"}
    if kind == "role":
        role, _, community = value.partition("@")
        audience = {"type": "role", "role": role}
        if community:
            audience["id"] = _community_id(session, community)
        return audience
    if kind == "community":
        return {"type": "community", "id": _community_id(session, value)}
    if kind in ("grid", "building") and value.isdigit():
        return {"type": kind, "id": int(value)}
    raise SystemExit(f"audience {spec!r} not understood: {parse_audience.__doc__}")


def _community_id(session, value: str) -> int:
    if value.isdigit():
        return int(value)
    found = session.scalar(select(Community.id).where(Community.name == value))
    if found is None:
        raise SystemExit(f"no community named {value!r}")
    return found


def broadcast(args) -> None:
    """Preview or schedule a notice to an audience."""
    config, engine, sessions = _unit()
    try:
        with transaction(sessions) as session:
            audience = parse_audience(session, args.audience)
            strategy = Strategy(args.strategy)
            counts = preview(session, config, audience, strategy)
            print("recipients by channel:", json.dumps(counts, ensure_ascii=False))
            if args.preview:
                return
            send_at = datetime.fromisoformat(args.at).replace(tzinfo=config.tz) if args.at else None
            made = create(session, config, title=args.title, text=args.text, audience=audience,
                          strategy=strategy, send_at=send_at, urgent=args.urgent,
                          created_by=args.by)
            print(f"broadcast {made.id} scheduled for {made.send_at.astimezone(config.tz):%Y-%m-%d %H:%M}")
    except BroadcastError as exc:
        raise SystemExit(f"broadcast refused: {exc}") from None
    finally:
        engine.dispose()


def broadcast_status(args) -> None:
    """Progress of one broadcast, or cancel it with --cancel."""
    _config, engine, sessions = _unit()
    try:
        with transaction(sessions) as session:
            found = session.get(Broadcast, args.id)
            if found is None:
                raise SystemExit(f"no broadcast {args.id}")
            if args.cancel:
                try:
                    print(f"cancelled; {cancel(session, found)} queued messages withdrawn")
                except BroadcastError as exc:
                    raise SystemExit(str(exc)) from None
            print(json.dumps(progress(session, found), ensure_ascii=False))
    finally:
        engine.dispose()


def outbox(args) -> None:
    """Outbox counts per status; --requeue-failed puts dead letters back."""
    _config, engine, sessions = _unit()
    try:
        with transaction(sessions) as session:
            if args.requeue_failed:
                ids = list(session.scalars(select(OutboxMessage.id).where(
                    OutboxMessage.status == OutboxStatus.FAILED)))
                print(f"requeued {requeue(session, ids)} failed messages")
            print(json.dumps(status_counts(session)))
    finally:
        engine.dispose()


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
    p.set_defaults(func=broadcast_status)
    p = sub.add_parser("outbox", help=outbox.__doc__)
    p.add_argument("--requeue-failed", action="store_true")
    p.set_defaults(func=outbox)
