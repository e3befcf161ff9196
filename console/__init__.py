"""The staff web console (/console): Flask blueprints + Jinja, Simplified Chinese.

`init_console(app)` adds sessions (Flask-Login), CSRF on every POST (Flask-WTF),
login rate limits (Flask-Limiter) and one blueprint per area. Each area module
calls the same domain services as the chat handlers (bot.reports, bot.meetings,
bot.broadcasts, bot.timebank), so a change behaves alike wherever it is made.
"""
from __future__ import annotations

from datetime import timedelta

from urllib.parse import urlencode

from flask import Blueprint, Flask, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from bot.config import Config
from bot.texts import text
from console import web
from models.resident import mask_mobile

csrf = CSRFProtect()


def init_console(app: Flask, config: Config) -> None:
    app.secret_key = config.get_path("console.secret_key")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(config.get_path("console.secure_cookies", False)),
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=float(config.get_path("console.session_hours", 8))),
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session's life
    )
    csrf.init_app(app)
    from console import (accounts, auth, broadcasts, dashboard, exports, meetings, reports,
                         residents, timebank)

    auth.init_auth(app, config)
    app.register_blueprint(Blueprint("console_assets", __name__, static_folder="static",
                                     template_folder="templates",
                                     static_url_path="/console/static"))
    for module in (auth, dashboard, reports, meetings, broadcasts, timebank, residents, exports,
                   accounts):
        app.register_blueprint(module.bp)
    for code in (400, 403, 404):
        app.register_error_handler(code, _error_page)
    app.jinja_env.globals.update(t=text)
    app.jinja_env.filters.update(local=web.local_time, hours=web.hours, mask=mask_mobile,
                                 merge=_merge_args,
                                 labelled=lambda d, prefix: {text(prefix + k): v for k, v in d.items()})
    app.teardown_appcontext(web.close_session)


def exempt(*blueprints) -> None:
    """Machine-to-machine endpoints (WeChat, Open311) carry their own signatures or keys."""
    for blueprint in blueprints:
        csrf.exempt(blueprint)


def _error_page(exc: HTTPException):
    """Console pages answer in Chinese; other endpoints keep their own error format."""
    if not request.path.startswith("/console"):
        return exc
    key = "c_csrf_refused" if isinstance(exc, CSRFError) else f"c_error_{exc.code}"
    return render_template("console/error.html", message=text(key)), exc.code


def _merge_args(args, **changes) -> str:
    """The current query string with some values replaced (pagination links)."""
    values = args.to_dict()
    values.update({k: v for k, v in changes.items()})
    return urlencode(values)
