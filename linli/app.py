"""Application factory: `create_app()` wires config, clock, database, router and blueprints."""
from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot import webhook
from bot.pipeline import Pipeline
from bot.signing import SafeMode
from core.clock import SYSTEM, Clock
from core.config import Config, load_config
from core.db import make_engine, make_session_factory
from core.logs import configure_logging
from handlers import build_router


def create_app(config: Config | None = None, clock: Clock = SYSTEM,
               sessions: sessionmaker[Session] | None = None) -> Flask:
    """Build the web app: webhook, health, calendars, Open311 and the staff console.
    `sessions` replaces the database sessions (the fast test tier runs everything on one
    connection inside one transaction)."""
    from bot.understanding import recognizer
    from console import exempt, init_console
    from core.wechat_api import WeChatAPI
    from web import calendar, health, open311, resident

    config = config or load_config()
    configure_logging()
    app = Flask(__name__)
    app.config["LINLI"] = config
    app.config["MAX_CONTENT_LENGTH"] = config.webhook.max_body_bytes
    if sessions is None:
        sessions = make_session_factory(make_engine(config.database.url))
        # Pages read without taking SQLite's write lock (same database, deferred BEGIN).
        read_sessions = make_session_factory(make_engine(config.database.url, sqlite_begin="DEFERRED"))
        # The webhook's own pool does not ping the database before every message (a round
        # trip each): a connection the database dropped fails its first statement, and the
        # message runs again on a fresh one (core.db.run_in_transaction).
        hook_sessions = make_session_factory(make_engine(config.database.url, pool_pre_ping=False))
        # The webhook's snapshots read without locks: on PostgreSQL outside any transaction
        # block, so reading and committing a menu word take one round trip each.
        snapshot_sessions = read_sessions
        if make_url(config.database.url).get_backend_name() != "sqlite":
            snapshot_sessions = make_session_factory(make_engine(
                config.database.url, pool_pre_ping=False, isolation_level="AUTOCOMMIT"))
    else:
        read_sessions = hook_sessions = snapshot_sessions = sessions
    app.extensions["linli.sessions"] = sessions
    app.extensions["linli.read_sessions"] = read_sessions
    app.extensions["linli.clock"] = clock
    app.extensions["linli.pipeline"] = Pipeline(config, hook_sessions, build_router(), clock,
                                                snapshot_sessions)
    recognizer(config)  # the word dictionary loads now, not on a resident's first message
    app.extensions["linli.safe_mode"] = safe_mode(config)
    app.extensions["linli.wechat"] = WeChatAPI(config, sessions, clock)
    for blueprint in (webhook.bp, calendar.bp, health.bp, open311.bp, resident.bp):
        app.register_blueprint(blueprint)
    exempt(webhook.bp, open311.bp)
    init_console(app, config)
    app.wsgi_app = _webhook_apart(app, config)
    logging.getLogger(__name__).info(
        "Linli ready: %s", make_url(config.database.url).render_as_string(hide_password=True))
    return app


def _webhook_apart(app: Flask, config: Config):
    """`/wechat` is served by a bare Flask app sharing the same pipeline: none of the
    console's per-request machinery (sessions, login, CSRF, rate limits) runs for it."""
    hook = Flask("linli.webhook")
    hook.config.update(LINLI=config, MAX_CONTENT_LENGTH=config.webhook.max_body_bytes)
    hook.extensions = app.extensions  # the same pipeline, sessions and clock (tests swap them)
    hook.register_blueprint(webhook.bp)
    console_wsgi, webhook_wsgi = app.wsgi_app, hook.wsgi_app

    def route(environ, start_response):
        wanted = webhook_wsgi if environ.get("PATH_INFO") == "/wechat" else console_wsgi
        return wanted(environ, start_response)
    return route


def safe_mode(config: Config) -> SafeMode | None:
    """The AES keys in force, or None in plaintext mode."""
    keys = [k for k in (config.wechat.encoding_aes_key, config.wechat.previous_encoding_aes_key) if k]
    if not keys:
        return None
    return SafeMode(config.wechat.token, config.wechat.appid, keys)
