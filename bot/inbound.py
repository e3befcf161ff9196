"""Inbound WeChat XML → `Incoming`: safe parsing, validation, clipping and normalisation.

XML is parsed with defusedxml, which refuses DTDs, entity declarations and
external references outright: an XXE or "billion laughs" body fails in
microseconds instead of expanding. Envelope fields (who, when, what kind) must
be right or the request is a 400 with a reason; content a person sent (a
location, a photo, a label) is kept only where it is readable and fits its
column, so a handler can answer kindly instead of failing.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from core.words import clip, normalise

MESSAGE_KINDS = {"text", "image", "voice", "video", "shortvideo", "location", "link", "event"}
_DIGITS = re.compile(r"[0-9]{1,12}")
_TOKENISH = re.compile(r"[0-9A-Za-z_\-=.]{1,128}")
MAX_TEXT = 2000
MAX_ANSWERS = 20  # templates answered in one subscription event
LIMITS = {"Label": 128, "MediaId": 128, "PicUrl": 512, "EventKey": 128}


class BadMessage(ValueError):
    """The body is not a WeChat message we can read; the text says why (safe to show)."""


def parse_xml(body: bytes | str) -> dict[str, str]:
    """Flat dict of the children of the root <xml> element."""
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadMessage("XML with DTD or entity declarations is not accepted") from exc
    except (ParseError, ValueError, TypeError, LookupError) as exc:
        # LookupError: an XML declaration naming an encoding nobody knows.
        raise BadMessage("body is not well-formed XML") from exc
    if root.tag != "xml":
        raise BadMessage("root element must be <xml>")
    return {child.tag: (child.text or "").strip() if len(child) == 0 else _answers(child)
            for child in root}


def _answers(element) -> str:
    """A subscription event's <List> items as "template:status" pairs, comma-separated
    (SubscribeStatusString in pop-up and change events, ErrorStatus in sent events)."""
    pairs = []
    for item in element.findall("List")[:MAX_ANSWERS]:
        template = (item.findtext("TemplateId") or "").strip()
        status = (item.findtext("SubscribeStatusString") or item.findtext("ErrorStatus") or "").strip()
        if _TOKENISH.fullmatch(template) and len(status) <= 64:
            pairs.append(f"{template}:{status}")
    return ",".join(pairs)


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
        """sha256 of sender+MsgId for messages (MsgIds are not unique across users), of
        sender+CreateTime+Event for events."""
        if self.msg_id:
            raw = f"msg:{self.openid}:{self.msg_id}"
        else:
            raw = f"evt:{self.openid}:{self.create_time}:{self.event or ''}"
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def normalised(self) -> str:
        return normalise(self.text) if self.text else ""

    @property
    def is_event(self) -> bool:
        return self.kind == "event"

    @property
    def subscription_answers(self) -> list[tuple[str, str]]:
        """(template id, accept / reject / success …) from a subscribe_msg_* event."""
        raw = next((v for k, v in self.fields.items() if k.startswith("SubscribeMsg")), "")
        return [tuple(pair.split(":", 1)) for pair in raw.split(",") if ":" in pair]

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lng is not None


def _coordinate(fields: dict[str, str], key: str, limit: float) -> float | None:
    """A finite coordinate within ±limit, else None (the handler asks again)."""
    raw = fields.get(key, "")
    if len(raw) > 32:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and -limit <= value <= limit else None


def _fitting(fields: dict[str, str], key: str) -> str | None:
    """A platform identifier that fits its column; an over-long one is unreadable, not cut."""
    value = fields.get(key) or None
    return value if value is None or len(value) <= LIMITS[key] else None


def to_incoming(fields: dict[str, str]) -> Incoming:
    """Validate the envelope and map WeChat's field names to an Incoming."""
    for key in ("ToUserName", "FromUserName", "CreateTime", "MsgType"):
        if not fields.get(key):
            raise BadMessage(f"missing field {key}")
    if not _DIGITS.fullmatch(fields["CreateTime"]):
        raise BadMessage("CreateTime must be an integer of at most 12 ASCII digits")
    if len(fields["FromUserName"]) > 64 or len(fields["ToUserName"]) > 64:
        raise BadMessage("FromUserName/ToUserName too long")
    if len(fields["MsgType"]) > 16:
        raise BadMessage("MsgType too long")
    kind = fields["MsgType"].lower()
    base = {"openid": fields["FromUserName"], "account": fields["ToUserName"],
            "create_time": int(fields["CreateTime"]), "fields": fields}
    if kind == "event":
        if not fields.get("Event") or len(fields["Event"]) > 64:
            raise BadMessage("missing or over-long field Event")
        return Incoming(kind="event", event=fields["Event"].lower(),
                        event_key=clip(fields.get("EventKey"), LIMITS["EventKey"]),
                        lat=_coordinate(fields, "Latitude", 90),
                        lng=_coordinate(fields, "Longitude", 180), msg_id=None, **base)
    msg_id = fields.get("MsgId") or ""
    if not _TOKENISH.fullmatch(msg_id) or len(msg_id) > 64:
        raise BadMessage("missing or malformed field MsgId")
    if kind not in MESSAGE_KINDS:
        kind = "unknown"
    text = fields.get("Content") if kind == "text" else None
    if kind == "voice":
        text = fields.get("Recognition") or None
    return Incoming(
        kind=kind, msg_id=msg_id, text=text[:MAX_TEXT] if text else text,
        media_id=_fitting(fields, "MediaId"), pic_url=_fitting(fields, "PicUrl"),
        lat=_coordinate(fields, "Location_X", 90), lng=_coordinate(fields, "Location_Y", 180),
        label=clip(fields.get("Label"), LIMITS["Label"]), **base)
