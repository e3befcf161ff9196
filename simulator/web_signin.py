"""The WeChat client's web side, simulated: sign-in (网页授权), the JS-SDK and the subscribe
pop-up.

- `/connect/oauth2/authorize` (open.weixin.qq.com): checks the appid, scope and that the
  redirect URI lies on the account's 网页授权域名, asks which persona is opening the page
  (a phone knows; a browser must be told), then returns to the page with a single-use code.
- `/sns/oauth2/access_token` (api.weixin.qq.com): exchanges the code for the openid.
- `/sim/jweixin.js`: a stand-in for the JS-SDK. `wx.config` is verified against the
  jsapi_ticket signature; `<wx-open-subscribe>` opens the subscribe pop-up, whose answer
  reaches the webhook as `subscribe_msg_popup_event` before the page comes back.
"""
from __future__ import annotations

import hashlib
from urllib.parse import urlencode, urlparse

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)

from simulator.control import report_popup
from simulator.errors import ApiError
from simulator.platform import Platform

bp = Blueprint("sim_web", __name__)
PERSONA_COOKIE = "sim_persona"
SCOPES = ("snsapi_base", "snsapi_userinfo")


def platform() -> Platform:
    return current_app.extensions["sim.platform"]


def _settings() -> dict:
    return current_app.extensions["sim.settings"]


def _page_error(code: int, message: str) -> Response:
    return make_response(render_template("web_error.html", code=code, message=message), 400)


@bp.get("/connect/oauth2/authorize")
def authorize():
    args = request.args
    if args.get("appid") != platform().appid:
        return _page_error(10016, "appid 参数错误")
    if args.get("response_type") != "code" or args.get("scope") not in SCOPES:
        return _page_error(10005, "scope 参数错误或没有 scope 权限")
    target = urlparse(args.get("redirect_uri", ""))
    if target.scheme not in ("http", "https") or target.hostname not in _settings()["oauth_domains"]:
        return _page_error(10003, "redirect_uri 域名与后台配置不一致")
    with platform().lock:
        people = [u for u in platform().users.values() if u.followed]
    return render_template("web_signin.html", people=people, chosen=request.cookies.get(PERSONA_COOKIE),
                           redirect_uri=args["redirect_uri"], state=args.get("state", ""))


@bp.post("/connect/oauth2/authorize")
def authorize_confirm():
    openid, target = request.form.get("openid", ""), request.form.get("redirect_uri", "")
    if openid not in platform().users or urlparse(target).hostname not in _settings()["oauth_domains"]:
        return _page_error(10003, "redirect_uri 参数错误")
    code = platform().issue_code(openid)
    separator = "&" if urlparse(target).query else "?"
    answer = redirect(target + separator + urlencode({"code": code, "state": request.form.get("state", "")}))
    answer.set_cookie(PERSONA_COOKIE, openid, samesite="Lax")
    return answer


@bp.get("/sns/oauth2/access_token")
def oauth_access_token():
    args = request.args
    try:
        if args.get("grant_type") != "authorization_code":
            raise ApiError(40002, "invalid grant_type")
        return jsonify(platform().exchange_code(args.get("appid", ""), args.get("secret", ""),
                                                args.get("code", "")))
    except ApiError as exc:
        return jsonify(errcode=exc.errcode, errmsg=exc.errmsg)


@bp.get("/sim/jweixin.js")
def jssdk():
    return current_app.send_static_file("jweixin.js")


@bp.route("/sim/jsapi/verify", methods=["POST", "OPTIONS"])
def verify_config():
    """What `wx.config` does: the page's signature must match the current jsapi_ticket."""
    answer = jsonify(errMsg="config:ok")
    if request.method == "POST":
        body = request.get_json(silent=True) or {}
        ticket = platform().jsapi_ticket()["ticket"]
        raw = (f"jsapi_ticket={ticket}&noncestr={body.get('nonceStr', '')}"
               f"&timestamp={body.get('timestamp', '')}&url={str(body.get('url', '')).split('#')[0]}")
        if body.get("appId") != platform().appid or \
                hashlib.sha1(raw.encode()).hexdigest() != body.get("signature"):
            answer = jsonify(errMsg="config:invalid signature")
    answer.headers["Access-Control-Allow-Origin"] = "*"
    answer.headers["Access-Control-Allow-Headers"] = "Content-Type"
    return answer


@bp.get("/sim/subscribe")
def subscribe_popup():
    """The pop-up `<wx-open-subscribe>` opens: which notifications to allow."""
    openid = request.cookies.get(PERSONA_COOKIE)
    wanted = [t for t in request.args.get("templates", "").split(",") if t]
    templates = [(t, platform().subscriptions[t]) for t in wanted if t in platform().subscriptions]
    if not openid or openid not in platform().users or not templates:
        return _page_error(10001, "订阅参数错误")
    return render_template("web_subscribe.html", templates=templates, back=request.args.get("back", ""),
                           persona=platform().users[openid])


@bp.post("/sim/subscribe")
def subscribe_answer():
    openid = request.cookies.get(PERSONA_COOKIE, "")
    if openid not in platform().users:
        return _page_error(10001, "订阅参数错误")
    offered = request.form.getlist("offered")
    accepted = set(request.form.getlist("accept")) if request.form.get("answer") == "allow" else set()
    answered = platform().grant(openid, [t for t in offered if t in accepted], True) + \
        platform().grant(openid, [t for t in offered if t not in accepted], False)
    report_popup(openid, answered)
    back = request.form.get("back", "")
    return redirect(back) if urlparse(back).hostname in _settings()["oauth_domains"] else ("", 204)
