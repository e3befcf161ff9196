"""The staff web console (/console): Flask blueprints + Jinja, Simplified Chinese.

`init_console(app)` adds sessions (Flask-Login), CSRF on every POST (Flask-WTF),
login rate limits (Flask-Limiter) and one blueprint per area. Each area module
parses the form, calls one use case of `domain/` — the same the chat commands
call — and renders the answer, so a change behaves alike wherever it is made.
"""
from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from console import web
from core.config import Config
from core.texts import TEXTS, text
from domain.handoffs import unread_total
from domain.people import mask_name, person_name
from domain.timebank.ledger import kind_key
from models import Account, Resident
from models.resident import mask_mobile

csrf = CSRFProtect()


def init_console(app: Flask, config: Config) -> None:
    app.secret_key = config.console.secret_key
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.console.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.console.session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # valid for the session's life
    )
    csrf.init_app(app)
    from console import (
        accounts,
        auth,
        broadcasts,
        chats,
        dashboard,
        exports,
        meetings,
        outbox,
        oversight,
        reports,
        residents,
        timebank,
        topics,
    )

    auth.init_auth(app, config)
    app.register_blueprint(Blueprint("console_assets", __name__, static_folder="static",
                                     template_folder="templates",
                                     static_url_path="/console/static"))
    for module in (auth, dashboard, reports, oversight, topics, chats, meetings, broadcasts, timebank,
                   residents, exports, outbox, accounts):
        app.register_blueprint(module.bp)
    for code in (400, 403, 404):
        app.register_error_handler(code, _error_page)
    app.jinja_env.globals.update(t=text, unread_chats=_unread_chats, catalogue=TEXTS)
    app.before_request(_refuse_nul)
    app.jinja_env.filters.update(local=web.local_time, hours=web.hours, mask=mask_mobile,
                                 mask_name=mask_name, person=person_name,
                                 merge=_merge_args, readable=_readable, target=_target,
                                 source=timebank.entry_source,
                                 actor=timebank.entry_actor, entry_kind=kind_key,
                                 labelled=lambda d, prefix: {text(prefix + k): v for k, v in d.items()})
    app.after_request(web.commit_request)
    app.teardown_appcontext(web.end_request)


def _unread_chats() -> int:
    """The nav badge: unread messages in chats the signed-in staff may answer."""
    if not current_user.is_authenticated or current_user.role not in ("admin", "staff"):
        return 0
    return unread_total(web.db(), current_user.actor)


PEOPLE_KEYS = ("resident", "relative", "volunteer", "beneficiary", "elder")
TARGETS = {"record": "S", "family": "F", "redemption": "R", "application": "A"}


def _readable(values: dict | None) -> str:
    """An audit record's before/after as staff read it: key：value, Chinese as written,
    people by name."""
    if not values:
        return ""

    def shown(key, value):
        if key in PEOPLE_KEYS and isinstance(value, int):
            return person_name(web.db().get(Resident, value))
        if key == "records" and isinstance(value, list):
            return "、".join(f"S{v}" for v in value) or "—"
        if isinstance(value, str) and f"audit_value_{value}" in TEXTS:
            return text(f"audit_value_{value}")
        return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
    return "；".join(f"{text('audit_key_' + k) if 'audit_key_' + k in TEXTS else k}：{shown(k, v)}"
                    for k, v in values.items())


def _target(target: str) -> str:
    """record:12 → 服务记录 S12, resident:7 → the person's name, report:BS… → 报事 BS…"""
    kind, _, ident = target.partition(":")
    if kind == "resident" and ident.isdigit():
        return person_name(web.db().get(Resident, int(ident)))
    if kind == "account" and ident.isdigit():
        account = web.db().get(Account, int(ident))
        owner = web.db().get(Resident, account.owner_id) if account and account.owner_id else None
        return text("audit_target_account", name=person_name(owner)) if owner else target
    if f"audit_target_{kind}" in TEXTS:
        return text(f"audit_target_{kind}", code=f"{TARGETS.get(kind, '')}{ident}")
    return target


def _refuse_nul() -> None:
    """No form field or query value may carry a NUL (PostgreSQL cannot store one): 400."""
    if not request.path.startswith("/console"):
        return
    for values in (request.args, request.form):
        for key, value in values.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400)


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
