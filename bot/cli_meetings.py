"""Staff meeting commands until the console lands: `python -m bot meeting …`."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from bot import meeting_admin, meetings
from bot.cli_delivery import _community_id, _unit, parse_audience
from bot.db import transaction
from models import Meeting, MeetingType, Resident, utcnow


def _at(config, value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).replace(tzinfo=config.tz) if value else None


def _resident(session, openid: str) -> Resident:
    found = session.scalar(select(Resident).where(Resident.openid == openid))
    if found is None:
        raise SystemExit(f"no resident with openid {openid}")
    return found


def _linked_reports(session, codes: list[str]) -> list[dict]:
    """Agenda items for open reports (or focal issues raised through them)."""
    from bot.reports import by_code

    items = []
    for code in codes:
        report = by_code(session, code)
        if report is None:
            raise SystemExit(f"no report {code}")
        items.append({"text": f"{report.code} {report.description[:40]}", "report_id": report.id})
    return items


def meeting(args) -> None:
    """Create, publish, edit, cancel, close meetings; sign people up; register walk-ins."""
    config, engine, sessions = _unit()
    now = utcnow()
    try:
        with transaction(sessions) as session:
            if args.action == "create":
                missing = [f"--{k}" for k in ("community", "title", "place", "start", "end")
                           if not getattr(args, k)]
                if missing:
                    raise SystemExit(f"meeting create needs {', '.join(missing)}")
                community = _community_id(session, args.community)
                audience = parse_audience(session, args.audience) if args.audience else None
                organiser = _resident(session, args.organiser).id if args.organiser else None
                made = meeting_admin.create(
                    session, community_id=community, type=MeetingType(args.type), title=args.title,
                    place=args.place, starts_at=_at(config, args.start), ends_at=_at(config, args.end),
                    capacity=args.capacity or 0, reserved_seats=args.reserved,
                    signup_deadline=_at(config, args.deadline), audience=audience,
                    agenda=[{"text": t.strip()} for t in (args.agenda or "").split(";") if t.strip()]
                    + _linked_reports(session, args.report or []),
                    allow_proxy=not args.no_proxy, organiser_id=organiser, created_by=args.by)
                print(f"meeting {made.id} created (draft)")
                return
            if args.id is None:
                raise SystemExit(f"meeting {args.action} needs the meeting id")
            target = session.get(Meeting, args.id)
            if target is None:
                raise SystemExit(f"no meeting {args.id}")
            if args.action == "publish":
                print(f"published; notice broadcast {meeting_admin.publish(session, config, target, now)}")
            elif args.action == "cancel":
                meeting_admin.cancel(session, config, target, now)
                print("cancelled; sign-ups told")
            elif args.action == "edit":
                meeting_admin.edit(session, config, target, now, starts_at=_at(config, args.start),
                              ends_at=_at(config, args.end), place=args.place)
                if args.capacity is not None:
                    moved = meeting_admin.set_capacity(session, config, target, args.capacity, now)
                    print(f"{len(moved)} moved to the waitlist")
                print("updated; sign-ups told")
            elif args.action == "signup":
                signup = meetings.sign_up(session, config, target.id, _resident(session, args.openid),
                                          now, proxy_name=args.name, waitlist=True,
                                          registered_by=args.by)
                print(f"{signup.status.value}; check-in code {signup.checkin_code}")
            elif args.action == "walk-in":
                print(f"walk-in checked in: {meeting_admin.walk_in(session, target, args.name, args.by, now).id}")
            elif args.action == "close":
                decisions = [dict(zip(("text", "owner"), d.split("@", 1))) for d in args.decision or []]
                meeting_admin.close(session, config, target, minutes=args.minutes or "",
                               decisions=decisions, now=now, attendee_count=args.attendees)
                print(json.dumps({"attendees": target.attendee_count}, ensure_ascii=False))
    except meetings.MeetingError as exc:
        raise SystemExit(f"refused: {exc}") from None
    finally:
        engine.dispose()


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
