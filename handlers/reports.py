"""Reporting a problem by chat (报事 / 随手拍).

```mermaid
stateDiagram-v2
    [*] --> DESCRIBE: 报事 / menu / a photo / a location
    DESCRIBE --> PHOTOS: text or voice (1-500 chars)
    PHOTOS --> LOCATION: 好了 / 跳过 (up to 9 photos)
    LOCATION --> CATEGORY: location, typed address or 跳过
    CATEGORY --> CONFIRM: suggested or picked
    CONFIRM --> DUPLICATE: 1, an open one is nearby
    CONFIRM --> DONE: 1 (filed)
    DUPLICATE --> DONE: 1 follow (+1) / 2 file anyway
    CONFIRM --> DESCRIBE: 改 描述 (likewise 位置, 分类, 照片)
```
"""
from __future__ import annotations

import enum
import re

from bot import reports
from bot.context import Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming, normalise
from bot.router import Router
from bot.texts import text
from handlers.registration import start_registration
from models import Report

router = Router()
FLOW = "report"
DONE_WORDS = {"好了", "好", "完成", "发完了", "ok", "没有了"}
SKIP = "跳过"
EDIT = re.compile(r"^改\s*(描述|位置|分类|照片)$")


class Step(enum.StrEnum):
    DESCRIBE = "describe"
    PHOTOS = "photos"
    LOCATION = "location"
    CATEGORY = "category"
    CONFIRM = "confirm"
    DUPLICATE = "duplicate"
    DONE = "done"


def _limit(ctx: Context, key: str, default: int) -> int:
    return int(ctx.config.get_path(f"reports.{key}", default))


def _choices(ctx: Context) -> list[reports.Category]:
    """Suggested category first, then the rest in configured order."""
    all_ = reports.categories(ctx.config)
    suggested = ctx.conversation.data.get("suggested")
    return sorted(all_, key=lambda c: c.code != suggested)


def _place(ctx: Context) -> str:
    data = ctx.conversation.data
    return data.get("label") or data.get("address") or text("place_unknown")


# --- prompts ----------------------------------------------------------------

def ask_category(ctx: Context) -> str:
    cats = _choices(ctx)
    lines = "\n".join(text("category_choice", n=n, name=c.name) for n, c in enumerate(cats, 1))
    suggested = reports.category(ctx.config, ctx.conversation.data.get("suggested") or "")
    if suggested:
        return text("ask_category", name=suggested.name, choices=lines)
    return text("ask_category_pick", choices=lines)


def ask_confirm(ctx: Context) -> str:
    data = ctx.conversation.data
    cat = reports.category(ctx.config, data.get("category", ""))
    return text("summary", category=cat.name if cat else "", description=data.get("description", ""),
                place=_place(ctx), photos=len(data.get("photos", [])))


def ask_duplicate(ctx: Context) -> str:
    other = ctx.session.get(Report, ctx.conversation.data.get("duplicate"))
    cat = reports.category(ctx.config, other.category)
    return text("duplicate_found", code=other.code, category=cat.name if cat else other.category,
                description=other.description[:40])


PROMPTS = {
    Step.DESCRIBE: lambda ctx: text("ask_description"),
    Step.PHOTOS: lambda ctx: text("ask_photos", limit=_limit(ctx, "max_photos", 9)),
    Step.LOCATION: lambda ctx: text("ask_location"),
    Step.CATEGORY: ask_category,
    Step.CONFIRM: ask_confirm,
    Step.DUPLICATE: ask_duplicate,
    Step.DONE: lambda ctx: "",
}


def _ask(ctx: Context, step: Step, prefix: str | None = None, **data) -> Reply:
    ctx.conversation.goto(step, **data)
    return Reply(PROMPTS[step](ctx)).prefixed(prefix)


def _next(ctx: Context, step: Step, prefix: str | None = None, **data) -> Reply:
    """Go on to `step`, or back to the summary when the resident was correcting a field."""
    if ctx.conversation.data.get("editing"):
        return _ask(ctx, Step.CONFIRM, prefix, editing=False, **data)
    return _ask(ctx, step, prefix, **data)


def _reask(ctx: Context, key: str, **values) -> Reply:
    step = Step(ctx.conversation.step)
    return Reply(text(key, **values) + "\n" + PROMPTS[step](ctx))


def _add_photo(ctx: Context, msg: Incoming) -> str:
    photos = list(ctx.conversation.data.get("photos", []))
    limit = _limit(ctx, "max_photos", 9)
    if len(photos) >= limit:
        return text("too_many_photos", limit=limit)
    photos.append({"media_id": msg.media_id, "pic_url": msg.pic_url})
    ctx.conversation.goto(ctx.conversation.step, photos=photos)
    return text("photo_received", n=len(photos))


def _set_location(ctx: Context, msg: Incoming) -> str | None:
    """Store a WeChat location; returns a complaint when it is outside every community."""
    community = reports.community_at(ctx.session, msg.lat, msg.lng)
    if community is None:
        return text("location_outside")
    ctx.conversation.goto(ctx.conversation.step, lat=msg.lat, lng=msg.lng, address=None,
                          label=msg.label or f"{msg.lat:.5f},{msg.lng:.5f}",
                          community_id=community.id, building_id=None)
    return None


# --- steps ------------------------------------------------------------------

def step_describe(ctx: Context, msg: Incoming) -> Reply:
    """Stores the description (text or recognised voice); asks for photos."""
    if msg.kind == "image":
        return _reask(ctx, "expecting_text").prefixed(_add_photo(ctx, msg))
    if msg.kind == "location":
        return _reask(ctx, "expecting_text").prefixed(_set_location(ctx, msg))
    described = (msg.text or "").strip()
    if not described:
        return _reask(ctx, "bad_description_empty")
    limit = _limit(ctx, "max_description", 500)
    if len(described) > limit:
        return _reask(ctx, "bad_description_long", limit=limit)
    suggested = reports.suggest(ctx.config, normalise(described))
    return _next(ctx, Step.PHOTOS, description=described,
                 suggested=suggested.code if suggested else None)


def step_photos(ctx: Context, msg: Incoming) -> Reply:
    """Collects up to 9 photos until 好了 / 跳过; asks where."""
    if msg.kind == "image":
        return Reply(_add_photo(ctx, msg))
    if msg.kind == "location":
        complaint = _set_location(ctx, msg)
        return Reply(complaint) if complaint else _next(ctx, Step.CATEGORY)
    answer = normalise(msg.text or "").lower()
    if answer in DONE_WORDS or answer == SKIP:
        if ctx.conversation.data.get("lat") is not None:
            return _next(ctx, Step.CATEGORY)
        return _next(ctx, Step.LOCATION)
    return Reply(PROMPTS[Step.PHOTOS](ctx))


def step_location(ctx: Context, msg: Incoming) -> Reply:
    """Stores a location, a typed address, or the resident's building on 跳过; asks the category."""
    if msg.kind == "image":
        return _reask(ctx, "expecting_text").prefixed(_add_photo(ctx, msg))
    if msg.kind == "location":
        complaint = _set_location(ctx, msg)
        return _reask(ctx, "location_outside") if complaint else _next(ctx, Step.CATEGORY)
    typed = (msg.text or "").strip()
    resident = ctx.resident
    if not typed:
        return _reask(ctx, "expecting_text")
    if normalise(typed) == SKIP:
        return _next(ctx, Step.CATEGORY, community_id=resident.community_id,
                     building_id=resident.building_id, address=resident.address, label=None,
                     lat=None, lng=None)
    if len(typed) > 60:
        return _reask(ctx, "bad_address")
    building = reports.match_building(ctx.session, resident.community_id, typed) \
        or resident.building_id
    return _next(ctx, Step.CATEGORY, community_id=resident.community_id, building_id=building,
                 address=typed, label=None, lat=None, lng=None)


def step_category(ctx: Context, msg: Incoming) -> Reply:
    """Confirms the suggested category or takes a number; shows the summary."""
    answer = normalise(msg.text or "")
    cats = _choices(ctx)
    if answer in ("好", "确认", "对") and ctx.conversation.data.get("suggested"):
        answer = "1"
    if not (answer.isdigit() and 1 <= int(answer) <= len(cats)):
        return _reask(ctx, "unknown_choice")
    return _ask(ctx, Step.CONFIRM, category=cats[int(answer) - 1].code, editing=False)


def step_confirm(ctx: Context, msg: Incoming) -> Reply:
    """Files the report on 1 (after offering a nearby duplicate), or goes back to a field."""
    answer = normalise(msg.text or "")
    edit = EDIT.match(answer)
    if edit:
        step = {"描述": Step.DESCRIBE, "位置": Step.LOCATION, "分类": Step.CATEGORY,
                "照片": Step.PHOTOS}[edit.group(1)]
        if step is Step.PHOTOS:
            ctx.conversation.goto(step, photos=[])
        return _ask(ctx, step, editing=True)
    if answer not in ("1", "提交", "确认"):
        return Reply(PROMPTS[Step.CONFIRM](ctx))
    data = ctx.conversation.data
    other = reports.nearby_open(ctx.session, ctx.config, community_id=data["community_id"],
                                category_code=data["category"], lat=data.get("lat"),
                                lng=data.get("lng"), building_id=data.get("building_id"),
                                now=ctx.now)
    if other is not None:
        return _ask(ctx, Step.DUPLICATE, duplicate=other.id)
    return _file(ctx)


def step_duplicate(ctx: Context, msg: Incoming) -> Reply:
    """1 follows the existing report (+1); 2 files a new one anyway."""
    answer = normalise(msg.text or "")
    if answer == "2":
        return _file(ctx)
    if answer != "1":
        return _reask(ctx, "reply_one_or_two")
    other = ctx.session.get(Report, ctx.conversation.data["duplicate"])
    added = reports.follow(ctx.session, other, ctx.resident, ctx.now)
    ctx.conversation.start(FLOW, Step.DONE, code=other.code)
    return ctx.reply("followed_existing" if added else "already_following", code=other.code)


def step_done(ctx: Context, msg: Incoming) -> Reply | None:
    """A second tap on 提交 is answered, not filed again; anything else starts afresh."""
    if normalise(msg.text or "") in ("1", "提交", "确认"):
        return ctx.reply("already_submitted", code=ctx.conversation.data.get("code"))
    ctx.conversation.clear()
    return ctx.router.dispatch(ctx, msg)


def _file(ctx: Context) -> Reply:
    data = ctx.conversation.data
    report = reports.create(
        ctx.session, ctx.config, resident=ctx.resident, community_id=data["community_id"],
        building_id=data.get("building_id"), category_code=data["category"],
        description=data["description"], address=data.get("address") or data.get("label"),
        lat=data.get("lat"), lng=data.get("lng"), photos=data.get("photos", []),
        source="wechat", now=ctx.now)
    cat = reports.category(ctx.config, report.category)
    ctx.conversation.start(FLOW, Step.DONE, code=report.code)
    reply = text("report_filed", code=report.code, category=cat.name,
                 tier=text(f"tier_{cat.tier.value}"), hours=f"{cat.accept_hours:g}",
                 handler=report.assignee_title)
    if cat.advice:
        reply += "\n" + text("report_advice", advice=cat.advice)
    return Reply(reply)


router.flow(Flow(FLOW, "flow_report", {
    Step.DESCRIBE: step_describe, Step.PHOTOS: step_photos, Step.LOCATION: step_location,
    Step.CATEGORY: step_category, Step.CONFIRM: step_confirm, Step.DUPLICATE: step_duplicate,
    Step.DONE: step_done}, PROMPTS))


# --- entry points -------------------------------------------------------------

def start(ctx: Context, msg: Incoming | None = None) -> Reply:
    """Begin a report; a photo or location that started it is kept."""
    if ctx.resident.community_id is None:
        return start_registration(ctx, text("welcome"))
    resident = ctx.resident
    ctx.conversation.start(FLOW, Step.DESCRIBE, photos=[], community_id=resident.community_id,
                           building_id=resident.building_id, address=resident.address)
    prefix = None
    if msg is not None and msg.kind == "image":
        prefix = _add_photo(ctx, msg)
    elif msg is not None and msg.kind == "location":
        complaint = _set_location(ctx, msg)
        prefix = complaint or text("location_set", place=_place(ctx))
    return Reply(PROMPTS[Step.DESCRIBE](ctx)).prefixed(prefix)


@router.menu("REPORT", "menu_report", order=10, group="menu_group_reports")
def report_menu(ctx: Context, msg: Incoming) -> Reply:
    return start(ctx)


@router.keyword("报事", "随手拍", "反映", "投诉", "报修", "反映问题")
def report_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return start(ctx)


@router.message("image", "location")
def media_starts_a_report(ctx: Context, msg: Incoming) -> Reply:
    """A photo or location sent outside any conversation starts a report with it."""
    return start(ctx, msg)
