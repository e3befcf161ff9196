"""Control API (`/sim/api/...`) used by the browser page, the tests and the benchmarks.

A persona is a simulated follower. Sending as a persona builds the message or
event exactly as WeChat would and delivers it to the webhook; the answer
comes back as what the persona's phone would show.
"""
from __future__ import annotations

import secrets

from flask import Blueprint, Response, abort, current_app, jsonify, request

from simulator import messages
from simulator.messages import MESSAGE_KINDS
from simulator.platform import Fault, Platform
from simulator.wechat_side import Deliverer

bp = Blueprint("sim_control", __name__, url_prefix="/sim")

WINDOW_EVENTS = {"subscribe", "SCAN", "CLICK"}
# A 1×1 PNG stands in for photos the page does not upload.
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                      "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2f1c5"
                      "5d0000000049454e44ae426082")


def platform() -> Platform:
    return current_app.extensions["sim.platform"]


def deliverer() -> Deliverer:
    s = current_app.extensions["sim.settings"]
    return Deliverer(s["webhook_url"], s["token"], s["appid"], s["aes_key"], s["mode"],
                     s["reply_timeout"])


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(Response("JSON object expected\n", status=400))
    return body


@bp.get("/api/state")
def state():
    p = platform()
    with p.lock:
        return jsonify(menu=p.menu, tags=p.tags, personas=len(p.users),
                       deliveries=len(p.deliveries), token_fetches=p.token_fetches,
                       settings={k: v for k, v in current_app.extensions["sim.settings"].items()
                                 if k not in ("token", "aes_key", "secret")})


@bp.post("/api/reset")
def reset():
    platform().reset()
    return jsonify(ok=True)


@bp.post("/api/settings")
def settings():
    body = _body()
    allowed = {"webhook_url", "reply_timeout", "mode", "report_events"}
    unknown = set(body) - allowed - {"quotas"}
    if unknown:
        return Response(f"unknown settings: {sorted(unknown)}\n", status=400)
    current_app.extensions["sim.settings"].update({k: body[k] for k in allowed & set(body)})
    if "report_events" in body:
        current_app.extensions["sim.reporter"].enabled = bool(body["report_events"])
    if "quotas" in body:
        platform().quotas = {str(k): int(v) for k, v in body["quotas"].items()}
    return jsonify(ok=True)


@bp.post("/api/faults")
def add_fault():
    body = _body()
    if body.get("kind") not in ("http500", "errcode", "latency", "timeout"):
        return Response("kind must be http500, errcode, latency or timeout\n", status=400)
    fault = Fault(endpoint=body.get("endpoint", "*"), kind=body["kind"],
                  errcode=int(body.get("errcode", -1)), latency_ms=int(body.get("latency_ms", 0)),
                  remaining=body.get("count"))
    with platform().lock:
        platform().faults.append(fault)
    return jsonify(ok=True)


@bp.delete("/api/faults")
def clear_faults():
    with platform().lock:
        platform().faults.clear()
    return jsonify(ok=True)


@bp.post("/api/tokens/invalidate")
def invalidate_tokens():
    platform().invalidate_tokens()
    return jsonify(ok=True)


@bp.post("/api/clock")
def clock():
    platform().clock_offset = float(_body().get("offset_seconds", 0))
    return jsonify(now=platform().now())


@bp.get("/api/deliveries")
def deliveries():
    since = request.args.get("since", 0, type=int)
    touser, channel = request.args.get("touser"), request.args.get("channel")
    with platform().lock:
        rows = [d for d in platform().deliveries if d["seq"] > since
                and (not touser or d["touser"] == touser)
                and (not channel or d["channel"] == channel)]
    return jsonify(deliveries=rows)


@bp.get("/api/deliveries/stats")
def delivery_stats():
    """Totals for large runs: messages, distinct recipients, who got more than one."""
    since = request.args.get("since", 0, type=int)
    counts: dict[str, int] = {}
    channels: dict[str, int] = {}
    with platform().lock:
        for d in platform().deliveries:
            if d["seq"] > since:
                counts[d["touser"]] = counts.get(d["touser"], 0) + 1
                channels[d["channel"]] = channels.get(d["channel"], 0) + 1
    repeated = {k: v for k, v in counts.items() if v > 1}
    return jsonify(total=sum(counts.values()), recipients=len(counts), by_channel=channels,
                   repeated=len(repeated), extra=sum(v - 1 for v in repeated.values()),
                   received=counts if request.args.get("full") else None)


@bp.post("/api/followers")
def add_followers():
    """Bulk-create followers who wrote just now (window open), for load tests."""
    body = _body()
    openids = body.get("openids") or []
    if not isinstance(openids, list):
        return Response("openids must be a list\n", status=400)
    p = platform()
    for openid in openids:
        p.set_followed(openid, True)
        if body.get("window", True):
            p.user_opened_window(openid, "message")
    return jsonify(added=len(openids))


@bp.post("/api/personas")
def create_persona():
    body = request.get_json(silent=True) or {}
    openid = body.get("openid") or "o" + secrets.token_urlsafe(20)
    user = platform().user(openid, body.get("nickname"))
    return jsonify(openid=user.openid, nickname=user.nickname, followed=user.followed)


@bp.get("/api/personas")
def list_personas():
    with platform().lock:
        return jsonify(personas=[{"openid": u.openid, "nickname": u.nickname,
                                  "followed": u.followed} for u in platform().users.values()])


@bp.post("/api/personas/<openid>/age")
def age(openid: str):
    """Pretend this persona last wrote `days` ago (the customer-service window may close)."""
    days = float(_body().get("days", 0))
    p = platform()
    with p.lock:
        user = p.users.get(openid) or abort(404)
        user.window_opened -= days * 86400
    return jsonify(ok=True, window_opened=user.window_opened)


@bp.post("/api/personas/<openid>/subscriptions")
def subscriptions(openid: str):
    """Answer the subscribe pop-up (`accept`: true/false) or switch one off in the settings
    (`revoke`); the webhook hears the matching event, as from WeChat."""
    body, p = _body(), platform()
    if openid not in p.users:
        abort(404)
    if body.get("revoke"):
        report_popup(openid, p.revoke(openid, body["revoke"]), "subscribe_msg_change_event")
    else:
        wanted, accept = list(body.get("templates") or []), bool(body.get("accept", True))
        report_popup(openid, p.grant(openid, wanted, accept))
    with p.lock:
        return jsonify(grants=dict(p.users[openid].grants))


@bp.get("/api/personas/<openid>/inbox")
def inbox(openid: str):
    user = platform().users.get(openid) or abort(404)
    since = request.args.get("since", 0, type=int)
    with platform().lock:
        return jsonify(messages=[m for m in user.inbox if m["seq"] > since])


@bp.post("/api/media")
def upload_media():
    upload = request.files.get("file")
    if upload is None:
        return Response("file expected\n", status=400)
    return jsonify(_store_media(upload.read(), upload.mimetype or "image/jpeg"))


def _store_media(data: bytes, mimetype: str) -> dict:
    media_id = secrets.token_urlsafe(24)
    platform().media[media_id] = (data, mimetype)
    return {"media_id": media_id, "pic_url": f"{request.host_url}sim/media/{media_id}"}


@bp.get("/media/<media_id>")
def media(media_id: str):
    item = platform().media.get(media_id) or abort(404)
    return Response(item[0], mimetype=item[1])


@bp.post("/api/personas/<openid>/send")
def send(openid: str):
    """Deliver one message or event as this persona; answer with what the phone shows."""
    body = _body()
    p = platform()
    user = p.user(openid)
    kind = body.get("type", "text")
    fields = messages.fields(kind, body, openid, lambda: _store_media(PIXEL, "image/png"))
    if fields is None:
        return Response(f"unknown type {kind!r}\n", status=400)
    if kind == "subscribe":
        p.set_followed(openid, True)
    elif kind == "unsubscribe":
        p.set_followed(openid, False)
    if kind in MESSAGE_KINDS or fields.get("Event") in WINDOW_EVENTS:
        p.user_opened_window(openid, "message" if kind in MESSAGE_KINDS else "event")
    p.record(user, "user", body.get("label") or _describe(kind, body), kind=kind)
    outcome = deliverer().deliver(fields)
    if outcome.reply is not None:
        p.record(user, "notice" if outcome.status == "unavailable" else "reply", outcome.reply)
    return jsonify(outcome.as_dict() | {"msg_id": fields.get("MsgId")})


def _describe(kind: str, body: dict) -> str:
    return body.get("content") or body.get("recognition") or f"[{kind}]"


def report_popup(openid: str, answered: list[dict], event: str = "subscribe_msg_popup_event") -> None:
    """The person's choice reaches the webhook at once, as WeChat's event does."""
    if not answered:
        return
    wrapper = "SubscribeMsgPopupEvent" if event == "subscribe_msg_popup_event" else "SubscribeMsgChangeEvent"
    items = [dict(a, PopupScene="2") if wrapper == "SubscribeMsgPopupEvent" else a for a in answered]
    deliverer().deliver({"FromUserName": openid, "CreateTime": int(platform().now()), "MsgType": "event",
                         "Event": event, wrapper: items})
