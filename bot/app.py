"""Application factory: `create_app()` wires config, database, router and blueprints."""
from __future__ import annotations

import logging

from flask import Flask

from bot.config import Config, load_config
from bot.db import make_engine, make_session_factory
from bot.logs import configure_logging
from bot.pipeline import Pipeline
from bot.signing import SafeMode


def create_app(config: Config | None = None) -> Flask:
    """Build the web app: webhook, health, calendars, Open311 and the staff console."""
    config = config or load_config()
    configure_logging()
    app = Flask(__name__)
    app.config["LINLI"] = config
    app.config["MAX_CONTENT_LENGTH"] = int(config.get_path("webhook.max_body_bytes"))
    engine = make_engine(config.get_path("database.url"))
    sessions = make_session_factory(engine)
    from handlers import build_router

    router = build_router()
    app.extensions["linli.engine"] = engine
    app.extensions["linli.sessions"] = sessions
    # Console pages read without taking SQLite's write lock (same database, deferred BEGIN).
    app.extensions["linli.read_sessions"] = make_session_factory(
        make_engine(config.get_path("database.url"), sqlite_begin="DEFERRED"))
    app.extensions["linli.router"] = router
    app.extensions["linli.pipeline"] = Pipeline(config, sessions, router)
    app.extensions["linli.safe_mode"] = safe_mode(config)

    from bot import calendar, health, open311, webhook
    from console import exempt, init_console

    app.register_blueprint(webhook.bp)
    app.register_blueprint(calendar.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(open311.bp)
    exempt(webhook.bp, open311.bp)
    init_console(app, config)
    logging.getLogger(__name__).info("Linli ready: %s", engine.url.render_as_string(hide_password=True))
    return app


def safe_mode(config: Config) -> SafeMode | None:
    """The AES keys in force, or None in plaintext mode."""
    keys = [k for k in (config.get_path("wechat.encoding_aes_key"),
                        config.get_path("wechat.previous_encoding_aes_key")) if k]
    if not keys:
        return None
    return SafeMode(config.get_path("wechat.token"), config.get_path("wechat.appid"), keys)
