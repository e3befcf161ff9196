"""The simulator's Flask app: API side, control API and the `/simulator` page."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import Flask, Response, render_template

from core.config import Config
from simulator.platform import Platform
from simulator.wechat_side import Deliverer, Reporter


def create_sim_app(config: Config, webhook_url: str | None = None) -> Flask:
    """Build the simulator for the account described by `config` (same appid/secret/token)."""
    app = Flask(__name__)
    wechat = config.wechat
    settings = {
        "webhook_url": webhook_url or config.simulator.webhook_url,
        "token": wechat.token, "appid": wechat.appid,
        "aes_key": wechat.encoding_aes_key or None,
        "mode": "safe" if wechat.encoding_aes_key else "plain",
        "reply_timeout": config.simulator.reply_timeout_seconds,
        "report_events": True,
        # The account's 网页授权域名 / JS接口安全域名: where sign-in may return to.
        "oauth_domains": sorted({urlparse(config.server.public_url).hostname, "127.0.0.1", "localhost"}),
    }
    platform = Platform(wechat.appid, wechat.secret,
                        {k: t.model_dump() for k, t in config.simulator.templates.items()},
                        {k: t.model_dump() for k, t in config.simulator.subscriptions.items()})
    app.extensions["sim.settings"] = settings
    app.extensions["sim.platform"] = platform
    app.extensions["sim.reporter"] = Reporter(lambda: Deliverer(
        settings["webhook_url"], settings["token"], settings["appid"], settings["aes_key"],
        settings["mode"], settings["reply_timeout"]))

    from simulator import api, control, web_signin

    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(web_signin.bp)

    @app.get("/simulator")
    def page():
        """The phone-sized chat page."""
        return render_template("simulator.html")

    @app.get("/favicon.ico")
    def icon():
        # A green phone: told apart from Linli's own pages at a glance.
        return Response('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" '
                        'height="64" rx="14" fill="#07c160"/></svg>', mimetype="image/svg+xml")

    return app
