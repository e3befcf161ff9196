"""Signing residents in with WeChat, and the request plumbing of their pages.

A page opened without a session sends the person to WeChat's silent sign-in
(`snsapi_base`); WeChat returns to `/my/signin` with a code that works once, which the
server exchanges for the openid. The session then names the resident; every record is
looked up through them, so another person's link answers as not found. GETs only read;
a POST (CSRF-checked) runs one use case and commits.
"""
from __future__ import annotations

import secrets
from functools import wraps
from urllib.parse import urlparse

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Config
from core.texts import text
from core.wechat_api import SignInRefused, signed_in_openid, signin_url
from domain.unit import Unit
from models import Resident

bp = Blueprint("resident", __name__, template_folder="../templates", static_folder="../static",
               static_url_path="/my/static")
RESIDENT_KEY, STATE_KEY = "resident_id", "resident_signin"
PAGES = ("/my", "/notices/", "/topics/", "/votes/", "/tasks/")


def config() -> Config:
    return current_app.config["LINLI"]


def db() -> Session:
    """The request's session: a writing one for POSTs, a reading one for GETs."""
    if "resident_db" not in g:
        name = "linli.sessions" if request.method == "POST" else "linli.read_sessions"
        g.resident_db = current_app.extensions[name]()
    return g.resident_db


def unit() -> Unit:
    return Unit(db(), config(), current_app.extensions["linli.clock"])


@bp.teardown_app_request
def _close(_exc: BaseException | None) -> None:
    session_ = g.pop("resident_db", None)
    if session_ is not None:
        session_.close()


def me() -> Resident:
    resident = db().get(Resident, session.get(RESIDENT_KEY))
    if resident is None or resident.openid is None or not resident.followed:
        session.pop(RESIDENT_KEY, None)
        abort(403)
    return resident


def signed_in(view):
    """The person behind the page, signed in through WeChat first when needed."""
    @wraps(view)
    def guarded(*args, **kwargs):
        if session.get(RESIDENT_KEY) is None:
            return _to_signin(request.full_path if request.query_string else request.path)
        return view(*args, **kwargs)
    return guarded


def _to_signin(wanted: str) -> Response:
    state = secrets.token_urlsafe(12)
    session[STATE_KEY] = {"state": state, "next": wanted if _ours(wanted) else "/my"}
    base = config().server.public_url.rstrip("/")
    return redirect(signin_url(config(), f"{base}/my/signin", state))


def _ours(path: str) -> bool:
    parsed = urlparse(path)
    return not parsed.scheme and not parsed.netloc and path.startswith(PAGES) and "\\" not in path


@bp.get("/my/signin")
def signin():
    """WeChat's return: the state must be the one we sent, the code good for one exchange."""
    expected = session.pop(STATE_KEY, None) or {}
    code, state = request.args.get("code", ""), request.args.get("state", "")
    if not code or not expected or not secrets.compare_digest(state, expected.get("state", "")):
        return message("r_signin_failed", 400)
    try:
        openid = signed_in_openid(config(), code[:128])
    except SignInRefused:
        return message("r_signin_failed", 400)
    resident = db().scalar(select(Resident).where(Resident.openid == openid))
    if resident is None or not resident.followed or resident.registered_at is None:
        return message("r_not_registered", 403)
    session.clear()  # a fresh session for a new person (no fixation)
    session[RESIDENT_KEY] = resident.id
    session.permanent = True
    return redirect(expected.get("next") or "/my")


def message(key: str, status: int = 200, **values) -> Response:
    return make_response(render_template("resident/message.html", text=text(key, **values)), status)


def refused(refusal) -> Response:
    """A domain refusal, in the person's words (400)."""
    return message(refusal.key, 400, **refusal.values)


def not_found() -> Response:
    """Someone else's record, or none: the same answer."""
    return message("r_not_found", 404)


def done(key: str, back: str, **values) -> Response:
    """After an action: commit, and show what happened with the way back."""
    db().commit()
    return make_response(render_template("resident/message.html", text=text(key, **values), back=back))
