"""Command line: `python -m linli <command>` (or `linli <command>`).

serve, scheduler, init-db, seed-demo, import-places, create-menu, create-staff, grant-role,
broadcast, broadcast-status, outbox, meeting, and demo (everything at once for
the offline demo). Each command parses its arguments, runs one use case in one
transaction and prints the outcome.
"""
from __future__ import annotations

import argparse
import getpass
import logging
import os

from core.config import ConfigError, load_config

log = logging.getLogger("linli")


def init_db(args) -> None:
    """Create or upgrade the schema with Alembic."""
    from core.migrate import upgrade

    upgrade(load_config().database.url)
    print("database ready")


def seed_demo(args) -> None:
    """Load the demo communities, grids, buildings, staff logins and meetings (idempotent)."""
    from cli.demo_people import seed_personas
    from cli.seed import seed, seed_meetings

    config = load_config()
    print(seed(config, role_accounts=True))
    print(seed_meetings(config))
    print(seed_personas(config))


def serve(args) -> None:
    """Run the web app under gunicorn (production-style, several workers)."""
    from linli.server import run_gunicorn

    config = load_config()
    run_gunicorn(host=args.host or config.server.host, port=args.port or config.server.port,
                 workers=args.workers)


def scheduler(args) -> None:
    """Run the scheduler process (exactly one acts at a time)."""
    from scheduler.main import run

    run(load_config())


def create_menu(args) -> None:
    """Publish the WeChat menu bar built from the features' menu entries."""
    from cli.menu import publish_menu

    print(publish_menu(load_config()))


def create_staff(args) -> None:
    """Create (or reset the password of) a console staff account."""
    from cli.accounts import create_staff_user

    password = args.password or os.environ.get("LINLI_STAFF_PASSWORD") or getpass.getpass()
    print(create_staff_user(load_config(), args.username, password, args.role, args.community,
                            args.name, args.grid))


def grant_role(args) -> None:
    """Grant a resident a role (volunteer, building_head, grid_worker, staff, admin)."""
    from cli.accounts import grant_resident_role

    print(grant_resident_role(load_config(), args.openid, args.role, granted_by=args.by))


def import_places(args) -> None:
    """Import grid and building outlines from a GeoJSON FeatureCollection drawn by staff."""
    import json

    from cli.base import unit
    from domain.actor import Actor
    from domain.geography import import_outlines

    try:
        with open(args.file, encoding="utf-8") as handle:
            collection = json.load(handle)
    except (OSError, ValueError) as error:
        raise SystemExit(f"cannot read {args.file}: {error}") from None
    with unit(load_config()) as uow:
        counts = import_outlines(uow, Actor.cli(args.by), collection)
    print(f"outlines imported: {counts['grids']} grids, {counts['buildings']} buildings")


def demo(args) -> None:
    """Migrate, seed, then run simulator + web + scheduler together until stopped."""
    from cli.demo import run

    init_db(args)
    seed_demo(args)
    run(load_config())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linli", description="Linli (邻里) bot")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help=serve.__doc__)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=serve)
    sub.add_parser("scheduler", help=scheduler.__doc__).set_defaults(func=scheduler)
    sub.add_parser("init-db", help=init_db.__doc__).set_defaults(func=init_db)
    sub.add_parser("seed-demo", help=seed_demo.__doc__).set_defaults(func=seed_demo)
    sub.add_parser("create-menu", help=create_menu.__doc__).set_defaults(func=create_menu)
    sub.add_parser("demo", help=demo.__doc__).set_defaults(func=demo)
    p = sub.add_parser("create-staff", help=create_staff.__doc__)
    p.add_argument("username")
    p.add_argument("--password", help="omit to be prompted (or set LINLI_STAFF_PASSWORD)")
    p.add_argument("--role", default="staff", choices=["admin", "staff", "grid_worker", "viewer"])
    p.add_argument("--community", help="community name (not needed for admin)")
    p.add_argument("--name", help="display name")
    p.add_argument("--grid", help="grid name (grid workers only)")
    p.set_defaults(func=create_staff)
    p = sub.add_parser("grant-role", help=grant_role.__doc__)
    p.add_argument("openid")
    p.add_argument("role")
    p.add_argument("--by", default="cli", help="who grants it (for the record)")
    p.set_defaults(func=grant_role)
    p = sub.add_parser("import-places", help=import_places.__doc__)
    p.add_argument("file", help="a .geojson file; each feature's properties name its community "
                                "and grid or building")
    p.add_argument("--by", default="cli", help="who imports it (for the record)")
    p.set_defaults(func=import_places)
    from cli import delivery, meetings

    delivery.add_commands(sub)
    meetings.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ConfigError as exc:
        raise SystemExit(f"configuration error: {exc}") from None
