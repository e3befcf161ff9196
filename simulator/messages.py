"""The fields WeChat sends for each kind of message or event a follower can cause.

One builder for the simulator's page and API and for the tests' in-process driver, so a
test message is the very shape a phone produces.
"""
from __future__ import annotations

import itertools
import secrets
import time
from typing import Callable

# Message ids must not repeat across simulator restarts against the same database.
_msg_ids = itertools.count(int(time.time() * 1000) * 1000)
MESSAGE_KINDS = {"text", "voice", "image", "location", "link", "video"}
# Where the page sends a location when none is chosen: 金宁's centre.
DEFAULT_POINT = (23.0435, 112.9165)

Media = Callable[[], dict]  # → {"media_id", "pic_url"} of a freshly uploaded photo


def fields(kind: str, body: dict, openid: str, upload: Media,
           now: Callable[[], float] = time.time) -> dict | None:
    """The XML fields for `kind` described by `body` (the control API's shape); None when
    the kind is unknown."""
    base = {"FromUserName": openid, "CreateTime": int(body.get("create_time") or now())}
    msg = {**base, "MsgType": kind, "MsgId": body.get("msg_id") or next(_msg_ids)}
    if kind == "text":
        return {**msg, "Content": body.get("content", "")}
    if kind == "voice":
        voice = {**msg, "MediaId": secrets.token_urlsafe(16), "Format": "amr"}
        return voice | ({"Recognition": body["recognition"]} if body.get("recognition") else {})
    if kind == "image":
        if "media_id" in body and body["media_id"] is not None:
            media = {"media_id": body["media_id"], "pic_url": body.get("pic_url", "")}
        else:
            media = upload()
        return {**msg, "PicUrl": media["pic_url"],
                **({"MediaId": media["media_id"]} if media["media_id"] else {})}
    if kind == "location":
        return {**msg, "Location_X": body.get("lat", DEFAULT_POINT[0]),
                "Location_Y": body.get("lng", DEFAULT_POINT[1]), "Scale": 15,
                "Label": body.get("label_text", "")}
    if kind == "link":
        return {**msg, "Title": body.get("title", "链接"), "Description": "", "Url": body.get("url", "")}
    if kind == "video":
        return {**msg, "MediaId": secrets.token_urlsafe(16), "ThumbMediaId": secrets.token_urlsafe(16)}
    event = {**base, "MsgType": "event"}
    if kind == "subscribe":
        scene = body.get("scene")
        return {**event, "Event": "subscribe"} | (
            {"EventKey": f"qrscene_{scene}", "Ticket": secrets.token_hex(8)} if scene else {})
    if kind == "unsubscribe":
        return {**event, "Event": "unsubscribe"}
    if kind == "scan":
        return {**event, "Event": "SCAN", "EventKey": body.get("scene", ""), "Ticket": secrets.token_hex(8)}
    if kind == "click":
        return {**event, "Event": "CLICK", "EventKey": body.get("key", "")}
    if kind == "view":
        return {**event, "Event": "VIEW", "EventKey": body.get("url", "")}
    if kind == "location_event":
        return {**event, "Event": "LOCATION", "Latitude": body.get("lat", DEFAULT_POINT[0]),
                "Longitude": body.get("lng", DEFAULT_POINT[1]), "Precision": 30}
    if kind == "raw":
        return {**base, **(body.get("fields") or {})}
    return None
