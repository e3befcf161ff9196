"""Inbound WeChat XML → `Incoming`: safe parsing, validation and normalisation.

XML is parsed with defusedxml, which refuses DTDs, entity declarations and
external references outright: an XXE or "billion laughs" body fails in
microseconds instead of expanding.
"""
from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

import opencc
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

_TO_SIMPLIFIED = opencc.OpenCC("t2s")

MESSAGE_KINDS = {"text", "image", "voice", "video", "shortvideo", "location", "link", "event"}


class BadMessage(ValueError):
    """The body is not a WeChat message we can read; the text says why (safe to show)."""


def parse_xml(body: bytes | str) -> dict[str, str]:
    """Flat dict of the children of the root <xml> element."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadMessage("XML with DTD or entity declarations is not accepted") from exc
    except (ParseError, ValueError, TypeError) as exc:
        raise BadMessage("body is not well-formed XML") from exc
    if root.tag != "xml":
        raise BadMessage("root element must be <xml>")
    return {child.tag: (child.text or "").strip() if len(child) == 0 else "" for child in root}


def normalise(text: str) -> str:
    """Full-width → half-width, traditional → simplified, collapsed spaces: for matching only."""
    text = unicodedata.normalize("NFKC", text).strip()
    return " ".join(_TO_SIMPLIFIED.convert(text).split())


@dataclass(frozen=True)
class Incoming:
    """One message or event from a follower, as the router sees it."""

    kind: str
    openid: str
    account: str
    create_time: int
    event: str | None = None
    msg_id: str | None = None
    text: str | None = None
    media_id: str | None = None
    pic_url: str | None = None
    lat: float | None = None
    lng: float | None = None
    label: str | None = None
    event_key: str | None = None
    fields: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def dedup_key(self) -> str:
        """sha256 of MsgId for messages, of FromUserName+CreateTime+Event for events."""
        if self.msg_id:
            raw = f"msg:{self.msg_id}"
        else:
            raw = f"evt:{self.openid}:{self.create_time}:{self.event or ''}"
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def normalised(self) -> str:
        return normalise(self.text) if self.text else ""

    @property
    def is_event(self) -> bool:
        return self.kind == "event"


def _float(fields: dict[str, str], key: str) -> float | None:
    try:
        return float(fields[key])
    except (KeyError, ValueError):
        return None


def to_incoming(fields: dict[str, str]) -> Incoming:
    """Validate required fields and map WeChat's field names to an Incoming."""
    for key in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not fields.get(key):
            raise BadMessage(f"missing field {key}")
    if not fields["CreateTime"].isdigit():
        raise BadMessage("CreateTime must be an integer")
    if len(fields["FromUserName"]) > 64:
        raise BadMessage("FromUserName too long")
    kind = fields["MsgType"].lower()
    base = {"openid": fields["FromUserName"], "account": fields["ToUserName"],
            "create_time": int(fields["CreateTime"]), "fields": fields}
    if kind == "event":
        if not fields.get("Event"):
            raise BadMessage("missing field Event")
        event = fields["Event"].lower()
        lat, lng = _float(fields, "Latitude"), _float(fields, "Longitude")
        return Incoming(kind="event", event=event, event_key=fields.get("EventKey") or None,
                        lat=lat, lng=lng, msg_id=None, **base)
    if not fields.get("MsgId"):
        raise BadMessage("missing field MsgId")
    if kind not in MESSAGE_KINDS:
        kind = "unknown"
    text = fields.get("Content") if kind == "text" else None
    if kind == "voice":
        text = fields.get("Recognition") or None
    return Incoming(
        kind=kind, msg_id=fields["MsgId"], text=text,
        media_id=fields.get("MediaId") or None, pic_url=fields.get("PicUrl") or None,
        lat=_float(fields, "Location_X"), lng=_float(fields, "Location_Y"),
        label=fields.get("Label") or None, **base)
