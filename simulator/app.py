"""The simulator's Flask app: API side, control API and the `/simulator` page."""
from __future__ import annotations

from flask import Flask, render_template

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
    }
    platform = Platform(wechat.appid, wechat.secret, list(config.simulator.templates))
    app.extensions["sim.settings"] = settings
    app.extensions["sim.platform"] = platform
    app.extensions["sim.reporter"] = Reporter(lambda: Deliverer(
        settings["webhook_url"], settings["token"], settings["appid"], settings["aes_key"],
        settings["mode"], settings["reply_timeout"]))

    from simulator import api, control

    app.register_blueprint(api.bp)
    app.register_blueprint(control.bp)

    @app.get("/simulator")
    def page():
        """The phone-sized chat page."""
        return render_template("simulator.html")

    return app
