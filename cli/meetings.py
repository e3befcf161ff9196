"""Staff meeting commands: `python -m linli meeting …` (the console does the same)."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from cli.base import unit
from cli.delivery import community_id, parse_audience
from core.config import load_config
from domain.actor import Actor
from domain.meetings import admin
from domain.reports import paths
from domain.reports.queries import by_code
from models import Meeting, MeetingType, Resident


def _at(config, value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).replace(tzinfo=config.tz) if value else None


def _resident(session, openid: str) -> Resident:
    found = session.scalar(select(Resident).where(Resident.openid == openid))
    if found is None:
        raise SystemExit(f"no resident with openid {openid}")
    return found


def _linked_reports(session, config, codes: list[str]) -> list[dict]:
    """Agenda items for open reports (or focal issues raised through them)."""
    items = []
    for code in codes:
        report = by_code(session, code)
        if report is None:
            raise SystemExit(f"no report {code}")
        items.append(paths.agenda_item(config, report))
    return items


def meeting(args) -> None:
    """Create, publish, edit, cancel, close meetings; sign people up; register walk-ins."""
    config = load_config()
    actor = Actor.cli(args.by)
    with unit(config) as uow:
        session = uow.session
        if args.action == "create":
            missing = [f"--{k}" for k in ("community", "title", "place", "start", "end")
                       if not getattr(args, k)]
            if missing:
                raise SystemExit(f"meeting create needs {', '.join(missing)}")
            community = community_id(session, args.community)
            audience = parse_audience(session, args.audience) if args.audience else None
            organiser = _resident(session, args.organiser).id if args.organiser else None
            made = admin.create(
                uow, actor, community_id=community, type=MeetingType(args.type), title=args.title,
                place=args.place, starts_at=_at(config, args.start), ends_at=_at(config, args.end),
                capacity=args.capacity or 0, reserved_seats=args.reserved,
                signup_deadline=_at(config, args.deadline), audience=audience,
                agenda=[{"text": t.strip()} for t in (args.agenda or "").split(";") if t.strip()]
                + _linked_reports(session, config, args.report or []),
                allow_proxy=not args.no_proxy, organiser_id=organiser)
            print(f"meeting {made.id} created (draft)")
            return
        if args.id is None:
            raise SystemExit(f"meeting {args.action} needs the meeting id")
        target = session.get(Meeting, args.id)
        if target is None:
            raise SystemExit(f"no meeting {args.id}")
        if args.action == "publish":
            print(f"published; notice broadcast {admin.publish(uow, actor, target)}")
        elif args.action == "cancel":
            admin.cancel(uow, actor, target)
            print("cancelled; sign-ups told")
        elif args.action == "edit":
            moved = admin.edit(uow, actor, target, starts_at=_at(config, args.start),
                               ends_at=_at(config, args.end), place=args.place,
                               capacity=args.capacity)
            print(f"updated; sign-ups told; {moved} moved to the waitlist")
        elif args.action == "signup":
            signup = admin.proxy_signup(uow, actor, target, _resident(session, args.openid), args.name)
            print(f"{signup.status.value}; check-in code {signup.checkin_code}")
        elif args.action == "walk-in":
            print(f"walk-in checked in: {admin.walk_in(uow, actor, target, args.name or '').id}")
        elif args.action == "close":
            decisions = [dict(zip(("text", "owner"), d.split("@", 1))) for d in args.decision or []]
            attendees = admin.close(uow, actor, target, minutes=args.minutes or "",
                                    decisions=decisions, attendee_count=args.attendees)
            print(json.dumps({"attendees": attendees}, ensure_ascii=False))


def add_commands(sub) -> None:
    p = sub.add_parser("meeting", help=meeting.__doc__)
    p.add_argument("action", choices=["create", "publish", "edit", "cancel", "signup", "walk-in",
                                       "close"])
    p.add_argument("id", type=int, nargs="?", help="meeting id (all but create)")
    p.add_argument("--community")
    p.add_argument("--type", default="council", choices=[t.value for t in MeetingType])
    p.add_argument("--title")
    p.add_argument("--place")
    p.add_argument("--start", help="local time YYYY-MM-DD HH:MM")
    p.add_argument("--end")
    p.add_argument("--deadline")
    p.add_argument("--capacity", type=int)
    p.add_argument("--reserved", type=int, default=0)
    p.add_argument("--audience", help="community:<name> | grid:<id> | building:<id> | role:<role>")
    p.add_argument("--agenda", help="topics separated by ;")
    p.add_argument("--report", action="append", help="link an open report as a topic (repeatable)")
    p.add_argument("--no-proxy", action="store_true", help="refuse 代报名")
    p.add_argument("--organiser", help="openid told at 80%% and 100%% full")
    p.add_argument("--openid", help="signup: the resident (staff 代报名)")
    p.add_argument("--name", help="signup: family member; walk-in: name")
    p.add_argument("--minutes")
    p.add_argument("--decision", action="append", help="close: 'decision@owner', repeatable")
    p.add_argument("--attendees", type=int)
    p.add_argument("--by", default="cli")
    p.set_defaults(func=meeting)
