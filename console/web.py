"""Request plumbing shared by the console areas: the DB session, time, formatting."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import abort, current_app, g, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Config


def config() -> Config:
    return current_app.config["LINLI"]


def db() -> Session:
    """One session per request; reads don't take SQLite's write lock, writes do (up front)."""
    if "db" not in g:
        factory = current_app.extensions[
            "linli.sessions" if request.method == "POST" else "linli.read_sessions"]
        g.db = factory()
    return g.db


def close_session(_exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()


def now() -> datetime:
    return datetime.now(timezone.utc)


def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(config().tz).strftime(fmt) if moment else ""


def parse_local(raw: str | None) -> datetime | None:
    """A datetime-local form value (Beijing time) as UTC; None when empty or malformed."""
    try:
        return datetime.fromisoformat((raw or "").strip()).replace(tzinfo=config().tz) \
            .astimezone(timezone.utc)
    except ValueError:
        return None


def hours(minutes: int | None) -> str:
    return f"{(minutes or 0) / 60:.1f}".rstrip("0").rstrip(".")


def mask_name(name: str | None) -> str:
    """张三 → 张*: the reporter as a paper ledger shows them."""
    return f"{name[0]}{'*' * max(1, len(name) - 1)}" if name else ""


def get_or_404(model, ident: Any):
    try:
        row = db().get(model, int(ident))
    except (TypeError, ValueError):
        row = None
    if row is None:
        abort(404)
    return row


def int_arg(name: str, default: int | None = None) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return default


def paginate(query, page_size: int | None = None) -> tuple[list, dict]:
    """Rows of the requested page, and page info for the template."""
    size = page_size or int(config().get_path("console.page_size", 30))
    page = max(1, int_arg("page", 1) or 1)
    total = db().scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db().scalars(query.limit(size).offset((page - 1) * size)).all()
    return rows, {"page": page, "pages": max(1, -(-total // size)), "total": total}
