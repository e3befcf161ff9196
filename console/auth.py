"""Console sign-in: scrypt password check, per-address rate limit, per-account lock-out,
and sessions that end for real (logout, password change and deactivation revoke them)."""
from __future__ import annotations

import re

from flask import Blueprint, Flask, redirect, render_template, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user

from console.access import Staff
from console.web import config, db, to_id, unit
from core.config import Config
from core.texts import text
from domain import staff as accounts
from domain.errors import Refused
from models import StaffUser

bp = Blueprint("auth", __name__, url_prefix="/console")
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Where `next=` may lead: a console path, nothing else (no scheme, no host, no CR/LF).
SAFE_NEXT = re.compile(r"/console(/[A-Za-z0-9_\-./]*)?(\?[A-Za-z0-9_\-.=&%]*)?")
VERSION_KEY = "_linli_sv"


def init_auth(app: Flask, cfg: Config) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = text("c_login_needed")
    login_manager.session_protection = "strong"
    app.config["RATELIMIT_STORAGE_URI"] = cfg.console.ratelimit_storage
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter.init_app(app)

    @app.errorhandler(429)
    def too_many(_exc):
        return render_template("console/login.html", error=text("c_login_rate_limited")), 429


@login_manager.user_loader
def load_user(user_id: str) -> Staff | None:
    """The account, while active and while this session's version is still its version."""
    ident = to_id(user_id)
    row = db().get(StaffUser, ident) if ident else None
    if row is None or not row.active or session.get(VERSION_KEY) != row.session_version:
        return None
    return Staff(row)


def _login_rate() -> str:
    return config().console.login_rate


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("dashboard.home"))
        return render_template("console/login.html")
    username = request.form.get("username", "").strip()[:64]
    try:
        user = accounts.sign_in(unit(), username, request.form.get("password", "")[:256])
    except Refused as refusal:
        status = 403 if refusal.key == "c_login_locked" else 401
        return render_template("console/login.html", username=username, error=refusal.message), status
    login_user(Staff(user))
    session[VERSION_KEY] = user.session_version
    target = request.args.get("next", "")
    # Only console paths: an absolute `next` would make us an open redirect.
    if not SAFE_NEXT.fullmatch(target):
        target = url_for("dashboard.home")
    return redirect(target)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        user = db().get(StaffUser, current_user.id)
        if user is not None:
            accounts.sign_out(unit(), user)
    logout_user()
    session.pop(VERSION_KEY, None)
    return redirect(url_for("auth.login"))
