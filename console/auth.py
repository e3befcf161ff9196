"""Console sign-in: scrypt password check, per-address rate limit, per-account lock-out."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, redirect, render_template, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash

from bot.config import Config
from bot.texts import text
from console.access import Staff
from console.web import config, db, now
from models import StaffUser

bp = Blueprint("auth", __name__, url_prefix="/console")
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Compared against when the username is unknown, so both cases take as long.
_DUMMY_HASH = "scrypt:32768:8:1$dummysalt$" + "0" * 128


def init_auth(app: Flask, cfg: Config) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = text("c_login_needed")
    login_manager.session_protection = "strong"
    app.config["RATELIMIT_STORAGE_URI"] = cfg.get_path("console.ratelimit_storage", "memory://")
    app.config["RATELIMIT_HEADERS_ENABLED"] = True
    limiter.init_app(app)

    @app.errorhandler(429)
    def too_many(_exc):
        return render_template("console/login.html", error=text("c_login_rate_limited")), 429


@login_manager.user_loader
def load_user(user_id: str) -> Staff | None:
    row = db().get(StaffUser, int(user_id)) if user_id.isdigit() else None
    return Staff(row) if row is not None and row.active else None


def _login_rate() -> str:
    return config().get_path("console.login_rate", "10 per minute")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate, methods=["POST"])
def login():
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("dashboard.home"))
        return render_template("console/login.html")
    username = request.form.get("username", "").strip()[:64]
    password = request.form.get("password", "")
    session = db()
    user = session.scalars(select(StaffUser).where(StaffUser.username == username)).first()
    moment = now()
    if user is not None and user.locked_until is not None and user.locked_until > moment:
        return render_template("console/login.html", username=username,
                               error=text("c_login_locked")), 403
    if user is None or not user.active or not check_password_hash(user.password_hash, password):
        if user is None:
            check_password_hash(_DUMMY_HASH, password)
        else:
            _count_failure(user, moment)
            session.commit()
        return render_template("console/login.html", username=username,
                               error=text("c_login_failed")), 401
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, moment
    session.commit()
    login_user(Staff(user))
    target = request.args.get("next", "")
    # Only same-site paths: an absolute `next` would make us an open redirect.
    if not target.startswith("/console") or target.startswith("//"):
        target = url_for("dashboard.home")
    return redirect(target)


def _count_failure(user: StaffUser, moment) -> None:
    user.failed_logins += 1
    if user.failed_logins >= int(config().get_path("console.max_failed_logins", 5)):
        minutes = int(config().get_path("console.lockout_minutes", 15))
        user.locked_until, user.failed_logins = moment + timedelta(minutes=minutes), 0


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("auth.login"))
