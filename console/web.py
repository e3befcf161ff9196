"""Request plumbing shared by the console areas: the unit of work, time, formatting.

One session per request. A POST's work commits once, when the request ends
without an exception (a refused use case has already rolled its own part back);
GET requests only read, without taking SQLite's write lock.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import abort, current_app, g, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import Config
from domain.unit import Unit

MAX_ID = 2 ** 31 - 1  # ids and page numbers beyond the integer column are simply not found


def config() -> Config:
    return current_app.config["LINLI"]


def db() -> Session:
    if "db" not in g:
        factory = current_app.extensions[
            "linli.sessions" if request.method == "POST" else "linli.read_sessions"]
        g.db = factory()
    return g.db


def unit() -> Unit:
    """The request's unit of work, for use cases."""
    return Unit(db(), config(), current_app.extensions["linli.clock"])


def commit_request(response):
    """A POST's work commits once, here, before the answer leaves (a failure is a 500)."""
    session = g.get("db")
    if session is not None and request.method == "POST":
        session.commit()
    return response


def end_request(_exc: BaseException | None) -> None:
    """Whatever was not committed is rolled back; the session is closed."""
    session = g.pop("db", None)
    if session is not None:
        session.close()


def now() -> datetime:
    return current_app.extensions["linli.clock"].now()


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(config().tz).strftime(fmt) if moment else ""


def parse_local(raw: str | None) -> datetime | None:
    """A datetime-local form value (Beijing time) as UTC; None when empty or malformed."""
    try:
        moment = datetime.fromisoformat((raw or "").strip()[:32]).replace(tzinfo=config().tz)
        return moment.astimezone(timezone.utc) if 2000 <= moment.year <= 2100 else None
    except (ValueError, OverflowError):
        return None


def hours(minutes: int | None) -> str:
    return f"{(minutes or 0) / 60:.1f}".rstrip("0").rstrip(".")


def to_id(raw: Any) -> int | None:
    """A database id from a URL or form value, or None (never an integer overflow)."""
    try:
        value = int(str(raw)[:12])
    except (TypeError, ValueError):
        return None
    return value if 0 < value <= MAX_ID else None


def get_or_404(model, ident: Any):
    value = to_id(ident)
    row = db().get(model, value) if value is not None else None
    if row is None:
        abort(404)
    return row


def int_arg(name: str, default: int | None = None) -> int | None:
    value = to_id(request.args.get(name, ""))
    return default if value is None else value


def paginate(query, page_size: int | None = None) -> tuple[list, dict]:
    """Rows of the requested page, and page info for the template."""
    size = page_size or config().console.page_size
    page = int_arg("page", 1) or 1
    total = db().scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // size))
    page = min(page, pages)
    rows = db().scalars(query.limit(size).offset((page - 1) * size)).all()
    return rows, {"page": page, "pages": pages, "total": total}
