"""What each push kind shows outside a chat: short facts, typed template fields, a page.

A push carries its full text (sent as a customer-service message inside WeChat's
48-hour window), a few short facts (code, status, title, time …) and the resident page
that shows everything. Outside the window the outbox sends a subscription notification
(订阅通知) or a template message instead: `wechat.subscriptions.<kind>` /
`wechat.templates.<kind>` name the account's template and which fact fills each of its
keywords. A keyword's type is its name without the number (`thing2` → thing), and
WeChat's rules for that type decide how the value is written and cut: subscription
values that break them are refused by WeChat, template values longer than 20 characters
are cut on the phone, so every value is made to fit here, on a character boundary with
an ellipsis, without line breaks or emoji.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

# WeChat's limits per keyword type (characters), for subscription notifications; a
# template message shows at most 20 characters of any field.
LIMITS = {"thing": 20, "character_string": 32, "number": 32, "letter": 32, "symbol": 5,
          "phrase": 5, "name": 10, "phone_number": 17, "car_number": 8, "amount": 32,
          "time": 32, "date": 32}
TEMPLATE_LIMIT = 20
ELLIPSIS = "…"
_TYPE = re.compile(r"^([a-z_]+?)\d*$")
_NOT_CODE = re.compile(r"[^0-9A-Za-z_\-.:/#@]")
_NOT_HAN = re.compile(r"[^\u4e00-\u9fff]")


def field_type(key: str) -> str:
    """`thing2` → "thing", `character_string1` → "character_string"."""
    match = _TYPE.match(key)
    return match.group(1) if match else key


def plain(value: str) -> str:
    """One line of text: no line breaks, no emoji or other symbols WeChat drops."""
    text = " ".join(str(value).split())
    return "".join(c for c in text if ord(c) <= 0xFFFF and unicodedata.category(c) != "So")


def clip(value: str, limit: int) -> str:
    """At most `limit` characters; a longer value ends with an ellipsis."""
    return value if len(value) <= limit else value[:limit - 1] + ELLIPSIS


def format_value(kind: str, value, tz: ZoneInfo, *, subscription: bool) -> str:
    """The value written the way a keyword of this type accepts it."""
    if isinstance(value, str) and kind in ("time", "date"):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        local = value.astimezone(tz)
        return f"{local:%Y年%m月%d日}" if kind == "date" else f"{local:%Y年%m月%d日 %H:%M}"
    text = plain(value)
    if kind in ("character_string", "letter", "symbol"):
        text = _NOT_CODE.sub("", text)
    elif kind == "number":
        text = re.sub(r"[^0-9.]", "", text) or "0"
    elif kind == "phrase":
        text = _NOT_HAN.sub("", text)
    limit = LIMITS.get(kind, TEMPLATE_LIMIT)
    if not subscription:
        limit = min(limit, TEMPLATE_LIMIT)
    return clip(text, limit) if kind in ("thing", "name") else text[:limit]


def fill(fields: dict[str, str], facts: dict, tz: ZoneInfo, *, subscription: bool) -> dict:
    """WeChat's `data` for a template: each keyword filled from its fact ("—" when absent)."""
    data = {}
    for key, fact in fields.items():
        value = facts.get(fact)
        written = format_value(field_type(key), value, tz, subscription=subscription) \
            if value not in (None, "") else ""
        data[key] = {"value": written or "—"}
    return data


@dataclass(frozen=True)
class Design:
    """One push kind: who gets it, its facts (with an example), the page it opens."""

    kind: str
    audience: str
    facts: dict[str, str]
    page: str | None


# Every push kind Linli sends. `page` is a path on server.public_url ({fact} filled in).
DESIGNS = {d.kind: d for d in (
    Design("report_status", "reporter and followers",
           {"code": "BS000123", "category": "公共设施维修", "status": "已受理",
            "note": "已联系物业更换灯泡", "time": "2026-12-01T08:00:00+00:00"}, "/my/reports/{code}"),
    Design("report_assigned", "assignee (grid worker, building head, staff)",
           {"code": "BS000123", "category": "公共设施维修", "status": "新派单",
            "time": "2026-12-02T08:00:00+00:00"}, "/tasks/{code}"),
    Design("report_reminder", "assignee, before or at the deadline",
           {"code": "BS000123", "category": "公共设施维修", "status": "待办结",
            "time": "2026-12-02T08:00:00+00:00"}, "/tasks/{code}"),
    Design("report_escalated", "community staff",
           {"code": "BS000123", "category": "公共设施维修", "status": "已超时",
            "time": "2026-12-02T08:00:00+00:00"}, "/console/reports/{code}"),
    Design("report_digest", "grid worker, every morning",
           {"item": "今日待办报事", "count": "3", "time": "2026-12-01T00:30:00+00:00"},
           "/console/reports"),
    Design("focal_issues", "community staff, weekly",
           {"item": "本周焦点议题", "count": "12", "time": "2026-12-01T00:30:00+00:00"},
           "/console/dashboard"),
    Design("handoff_opened", "community staff",
           {"item": "居民请求人工服务", "count": "1", "time": "2026-12-01T02:00:00+00:00"},
           "/console/chats"),
    Design("handoff_reply", "the resident in a chat with staff (inside the window only)",
           {}, None),
    Design("meeting_capacity", "meeting organiser",
           {"item": "议事会报名已达八成", "count": "24", "time": "2026-12-01T02:00:00+00:00"},
           "/console/meetings/{meeting}"),
    Design("meeting_reminder", "signed-up residents, 24 h and 1 h before",
           {"title": "加装电梯议事会", "time": "2026-12-05T11:30:00+00:00",
            "place": "金宁党群服务中心", "checkin": "123456", "meeting": "1"},
           "/my/meetings/{meeting}"),
    Design("meeting_update", "signed-up residents: changed, cancelled, promoted, waitlisted, minutes",
           {"title": "加装电梯议事会", "status": "时间变更", "time": "2026-12-05T11:30:00+00:00",
            "note": "改到二楼会议室", "meeting": "1"}, "/my/meetings/{meeting}"),
    Design("timebank_confirm", "the person a volunteer served",
           {"item": "请确认志愿服务", "note": "陈姨上门探访2小时", "time": "2026-12-01T02:00:00+00:00"},
           "/my/hours"),
    Design("timebank_result", "volunteer: records approved or not, application decided",
           {"item": "服务时长已入账", "note": "上门探访2小时", "time": "2026-12-01T02:00:00+00:00"},
           "/my/hours"),
    Design("timebank_account", "account holder: milestone, transfer, redemption, adjustment, expiry",
           {"item": "家人转入时间", "note": "2小时", "time": "2026-12-01T02:00:00+00:00"}, "/my/hours"),
    Design("timebank_statement", "account holder, monthly",
           {"item": "11月时间账户月结", "note": "存入2小时 余额5小时", "time": "2026-12-01T02:00:00+00:00"},
           "/my/hours"),
    Design("timebank_pending", "verifiers and staff with records waiting",
           {"item": "服务记录待审核", "count": "3", "time": "2026-12-01T02:00:00+00:00"},
           "/console/timebank"),
    Design("topic_update", "a topic's proposer and supporters (附议): scheduled, decided, declined, done",
           {"title": "3栋加装电梯", "status": "已议定", "time": "2026-12-01T02:00:00+00:00",
            "note": "成立电梯小组，12月底前报方案", "topic": "YT000123"}, "/topics/{topic}"),
    Design("decision_item", "the owner of a decision item: assigned, due soon, overdue",
           {"code": "YT000123", "category": "报送加装电梯方案", "status": "待落实",
            "time": "2026-12-20", "community": "1"}, "/board/{community}"),
    Design("broadcast", "a notice's audience",
           {"title": "12月居民议事会通知", "community": "金宁社区", "time": "2026-12-01T02:00:00+00:00",
            "notice": "1"}, "/notices/{notice}"),
)}


def page_for(kind: str, facts: dict) -> str | None:
    """The page a push opens, or None (unknown kind, or a fact it needs is missing)."""
    design = DESIGNS.get(kind)
    if design is None or design.page is None:
        return None
    try:
        return design.page.format(**facts)
    except KeyError:
        return None
