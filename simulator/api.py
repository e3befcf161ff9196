"""API side: `/cgi-bin/...` endpoints with WeChat's JSON shapes and error codes."""
from __future__ import annotations

import json
import time
from functools import wraps

from flask import Blueprint, Response, current_app, jsonify, request

from simulator.platform import ApiError, Platform

bp = Blueprint("sim_api", __name__, url_prefix="/cgi-bin")

MENU_LIMITS = (3, 5)


def platform() -> Platform:
    return current_app.extensions["sim.platform"]


def _error(errcode: int, errmsg: str) -> Response:
    return jsonify(errcode=errcode, errmsg=errmsg)


def endpoint(name: str, needs_token: bool = True):
    """Apply faults, quota and token checks, and map ApiError to its JSON answer."""
    def decorate(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            fault = platform().take_fault(name)
            if fault is not None:
                if fault.kind in ("latency", "timeout"):
                    time.sleep(fault.latency_ms / 1000 if fault.kind == "latency" else 30)
                elif fault.kind == "http500":
                    return Response("upstream error", status=502)
                elif fault.kind == "errcode":
                    return _error(fault.errcode, "injected fault")
            try:
                if needs_token:
                    platform().check_token(request.args.get("access_token"))
                platform().count_call(name)
                return fn(*args, **kwargs)
            except ApiError as exc:
                return _error(exc.errcode, exc.errmsg)
        return wrapper
    return decorate


def _json() -> dict:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        raise ApiError(47001, "data format error") from None
    if not isinstance(body, dict):
        raise ApiError(47001, "data format error")
    return body


@bp.get("/token")
@endpoint("token", needs_token=False)
def token():
    if request.args.get("grant_type") != "client_credential":
        raise ApiError(40002, "invalid grant_type")
    return jsonify(platform().issue_token(request.args.get("appid", ""),
                                          request.args.get("secret", "")))


@bp.post("/stable_token")
@endpoint("stable_token", needs_token=False)
def stable_token():
    body = _json()
    if body.get("grant_type") != "client_credential":
        raise ApiError(40002, "invalid grant_type")
    return jsonify(platform().issue_stable_token(body.get("appid", ""), body.get("secret", ""),
                                                 bool(body.get("force_refresh"))))


@bp.post("/message/custom/send")
@endpoint("message/custom/send")
def custom_send():
    body = _json()
    if body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
        raise ApiError(40008, "invalid message type")
    content = body["text"].get("content") or ""
    if not content:
        raise ApiError(44003, "empty content")
    return jsonify(platform().send_custom(body.get("touser", ""), content))


@bp.post("/message/template/send")
@endpoint("message/template/send")
def template_send():
    body = _json()
    if not isinstance(body.get("data"), dict):
        raise ApiError(47001, "data format error")
    answer, delivered = platform().send_template(
        body.get("touser", ""), body.get("template_id", ""), body["data"], body.get("url"),
        body.get("client_msg_id"))
    if delivered:
        current_app.extensions["sim.reporter"].template_finished(body["touser"], answer["msgid"])
    return jsonify(answer)


def _mass_text(body: dict) -> str:
    if body.get("msgtype") != "text" or not (body.get("text") or {}).get("content"):
        raise ApiError(40008, "invalid message type")
    return body["text"]["content"]


@bp.post("/message/subscribe/bizsend")
@endpoint("message/subscribe/bizsend")
def subscribe_send():
    body = _json()
    if not isinstance(body.get("data"), dict):
        raise ApiError(47001, "data format error")
    answer = platform().send_subscription(body.get("touser", ""), body.get("template_id", ""),
                                          body["data"], body.get("page"))
    current_app.extensions["sim.reporter"].subscription_sent(body["touser"], body["template_id"],
                                                             answer["msgid"])
    return jsonify(answer)


@bp.get("/ticket/getticket")
@endpoint("ticket/getticket")
def get_ticket():
    if request.args.get("type") != "jsapi":
        raise ApiError(40097, "invalid args")
    return jsonify(platform().jsapi_ticket())


@bp.post("/message/mass/sendall")
@endpoint("message/mass/sendall")
def mass_sendall():
    body = _json()
    text = _mass_text(body)
    filt = body.get("filter") or {}
    if filt.get("is_to_all"):
        openids = [u.openid for u in platform().users.values() if u.followed]
    else:
        try:
            openids = platform().tag_members(int(filt.get("tag_id")))
        except (TypeError, ValueError):
            raise ApiError(40050, "invalid tag id") from None
    return _mass(openids, text, body.get("clientmsgid"))


@bp.post("/message/mass/send")
@endpoint("message/mass/send")
def mass_send():
    body = _json()
    text = _mass_text(body)
    openids = body.get("touser")
    if not isinstance(openids, list) or not 2 <= len(openids) <= 10000:
        raise ApiError(40130, "invalid openid list size, at least two openid")
    return _mass(openids, text, body.get("clientmsgid"))


def _mass(openids: list[str], text: str, client_msg_id: str | None):
    result = platform().send_mass(openids, text, client_msg_id)
    current_app.extensions["sim.reporter"].mass_finished(result)
    return jsonify(errcode=0, errmsg="send job submission success", msg_id=result["msg_id"],
                   msg_data_id=result["msg_id"])


@bp.post("/tags/create")
@endpoint("tags/create")
def tags_create():
    return jsonify(platform().create_tag(((_json().get("tag") or {}).get("name") or "").strip()))


@bp.get("/tags/get")
@endpoint("tags/get")
def tags_get():
    p = platform()
    with p.lock:
        tags = [{"id": i, "name": n, "count": len(p.tag_members(i))} for i, n in p.tags.items()]
    return jsonify(tags=tags)


@bp.post("/tags/members/batchtagging")
@endpoint("tags/members/batchtagging")
def tags_batchtagging():
    body = _json()
    openids = body.get("openid_list")
    if not isinstance(openids, list):
        raise ApiError(40032, "invalid openid list size")
    try:
        tag_id = int(body.get("tagid"))
    except (TypeError, ValueError):
        raise ApiError(45159, "invalid tag id") from None
    platform().tag_users(tag_id, openids)
    return jsonify(errcode=0, errmsg="ok")


@bp.post("/menu/create")
@endpoint("menu/create")
def menu_create():
    buttons = _json().get("button")
    top, sub = MENU_LIMITS
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= top:
        raise ApiError(40016, "invalid button size")
    for button in buttons:
        if not button.get("name"):
            raise ApiError(40018, "invalid button name size")
        subs = button.get("sub_button")
        if subs is not None and (not isinstance(subs, list) or not 1 <= len(subs) <= sub):
            raise ApiError(40023, "invalid sub button size")
        for item in subs or [button]:
            if item.get("type") == "click" and not item.get("key"):
                raise ApiError(40019, "invalid button key size")
            if item.get("type") == "view" and not str(item.get("url", "")).startswith(("http://", "https://")):
                raise ApiError(40055, "invalid button url domain")
    platform().menu = {"button": buttons}
    return jsonify(errcode=0, errmsg="ok")


@bp.get("/menu/get")
@endpoint("menu/get")
def menu_get():
    if platform().menu is None:
        raise ApiError(46003, "menu no exist")
    return jsonify(menu=platform().menu)


@bp.get("/user/info")
@endpoint("user/info")
def user_info():
    user = platform().users.get(request.args.get("openid", ""))
    if user is None:
        raise ApiError(40003, "invalid openid")
    if not user.followed:
        return jsonify(subscribe=0, openid=user.openid)
    return jsonify(subscribe=1, openid=user.openid, nickname=user.nickname, language="zh_CN",
                   subscribe_time=user.subscribe_time, tagid_list=sorted(user.tags))


@bp.get("/media/get")
@endpoint("media/get")
def media_get():
    item = platform().media.get(request.args.get("media_id", ""))
    if item is None:
        raise ApiError(40007, "invalid media_id")
    data, mimetype = item
    return Response(data, mimetype=mimetype)
