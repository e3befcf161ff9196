"""Reporting a problem by chat (报事 / 随手拍).

```mermaid
stateDiagram-v2
    [*] --> DESCRIBE: 报事 / menu / a photo / a location
    [*] --> PROPOSED: words recognised as a problem ("楼道灯坏了")
    PROPOSED --> PHOTOS: yes (the words are the description)
    PROPOSED --> [*]: no
    DESCRIBE --> PHOTOS: text or voice (1-500 chars)
    PHOTOS --> LOCATION: 好了 / 跳过 (up to 9 photos; other words add to the description)
    LOCATION --> CATEGORY: location, typed address or 跳过
    CATEGORY --> CONFIRM: suggested or picked (other words add to the description)
    CONFIRM --> DUPLICATE: 1, someone else's open one is nearby
    CONFIRM --> DONE: 1 (filed)
    DUPLICATE --> DONE: 1 follow (+1) / 2 file anyway
    CONFIRM --> DESCRIBE: 改 描述 (likewise 位置, 分类, 照片)
```
"""
from __future__ import annotations

import enum
import re

from bot.context import AGAIN, Context, Reply
from bot.conversation import Flow, ask, reask
from bot.inbound import Incoming
from bot.router import Router
from bot.understanding import clean, yes_or_no
from core.clock import local
from core.numbers import numbered_choice
from core.texts import text, vocab
from core.words import normalise
from domain.errors import Refused
from domain.reports import lifecycle, places, queries
from domain.reports.categories import Category, categories, category, suggest
from handlers import report_input
from handlers.registration import registered_first
from models import Building, Report, Tier

router = Router("reports")
FLOW = "report"
EDIT = re.compile(r"^改\s*(描述|位置|分类|照片)$")


class Step(enum.StrEnum):
    PROPOSED = "proposed"
    DESCRIBE = "describe"
    PHOTOS = "photos"
    LOCATION = "location"
    CATEGORY = "category"
    CONFIRM = "confirm"
    DUPLICATE = "duplicate"
    DONE = "done"


def _choices(ctx: Context) -> list[Category]:
    """Suggested category first, then the rest in configured order."""
    suggested = ctx.conversation.data.get("suggested")
    return sorted(categories(ctx.config), key=lambda c: c.code != suggested)


# --- prompts ----------------------------------------------------------------

def ask_category(ctx: Context) -> str:
    lines = "\n".join(text("category_choice", n=n, name=c.name) for n, c in enumerate(_choices(ctx), 1))
    suggested = category(ctx.config, ctx.conversation.data.get("suggested") or "")
    if suggested:
        return text("ask_category", name=suggested.name, choices=lines)
    return text("ask_category_pick", choices=lines)


def ask_confirm(ctx: Context) -> str:
    data = ctx.conversation.data
    cat = category(ctx.config, data.get("category", ""))
    return text("summary", category=cat.name if cat else "", description=data.get("description", ""),
                place=report_input.place(ctx), photos=len(data.get("photos", [])))


def ask_duplicate(ctx: Context) -> str:
    """Someone else's report, as much as a stranger may know: category, place, status, +1s."""
    other = ctx.session.get(Report, ctx.conversation.data.get("duplicate"))
    cat = category(ctx.config, other.category)
    return text("duplicate_found", category=cat.name if cat else other.category,
                place=queries.coarse_place(ctx.session, other) or text("place_nearby"),
                status=text(f"status_{other.status.value}"),
                followers=queries.followers(ctx.session, other) + 1)


PROMPTS = {
    Step.PROPOSED: lambda ctx: text("propose_report",
                                    description=ctx.conversation.data.get("description", "")),
    Step.DESCRIBE: lambda ctx: text("ask_description"),
    Step.PHOTOS: lambda ctx: text("ask_photos", limit=ctx.config.reports.max_photos),
    Step.LOCATION: lambda ctx: text("ask_location"),
    Step.CATEGORY: ask_category,
    Step.CONFIRM: ask_confirm,
    Step.DUPLICATE: ask_duplicate,
    Step.DONE: lambda ctx: text("report_done_prompt", code=ctx.conversation.data.get("code", "")),
}


def _next(ctx: Context, step: Step, prefix: str | None = None, **data) -> Reply:
    """Go on to `step`, or back to the summary when the resident was correcting a field."""
    if ctx.conversation.data.get("editing"):
        return ask(ctx, Step.CONFIRM, prefix, editing=False, **data)
    return ask(ctx, step, prefix, **data)


# --- steps ------------------------------------------------------------------

def step_proposed(ctx: Context, msg: Incoming) -> Reply:
    """"楼道灯坏了" was recognised as a problem: on yes it is the description."""
    answer = yes_or_no(msg.text)
    if answer is False:
        ctx.conversation.clear()
        return ctx.reply("propose_dropped")
    if answer is None:
        kept = report_input.add_detail(ctx, msg)
        return reask(ctx, "").prefixed(kept) if kept else reask(ctx, "reply_one_or_two")
    described = ctx.conversation.data.get("description", "")
    suggested = suggest(ctx.config, clean(described))  # Cantonese read as Mandarin: 坏咗 → 坏了
    return ask(ctx, Step.PHOTOS, suggested=suggested.code if suggested else None)


def step_describe(ctx: Context, msg: Incoming) -> Reply:
    """Stores the description (text or recognised voice); asks for photos."""
    if msg.kind == "image":
        return reask(ctx, "expecting_text").prefixed(report_input.add_photo(ctx, msg))
    if msg.kind == "location":
        return reask(ctx, "expecting_text").prefixed(report_input.set_location(ctx, msg))
    described = (msg.text or "").strip()
    if not described:
        return reask(ctx, "bad_description_empty")
    if (problem := report_input.limit_description(ctx, described)):
        return reask(ctx, "").prefixed(problem)
    suggested = suggest(ctx.config, clean(described))  # Cantonese read as Mandarin: 坏咗 → 坏了
    return _next(ctx, Step.PHOTOS, description=described,
                 suggested=suggested.code if suggested else None)


def step_photos(ctx: Context, msg: Incoming) -> Reply:
    """Collects up to 9 photos until 好了 / 跳过; other words add to the description."""
    if msg.kind == "image":
        return Reply(report_input.add_photo(ctx, msg))
    if msg.kind == "location":
        complaint = report_input.set_location(ctx, msg)
        return Reply(complaint) if complaint else _next(ctx, Step.CATEGORY)
    answer = normalise(msg.text or "").lower()
    if answer in vocab.DONE or answer in vocab.SKIP:
        if ctx.conversation.data.get("lat") is not None:
            return _next(ctx, Step.CATEGORY)
        return _next(ctx, Step.LOCATION)
    extra = (msg.text or "").strip()
    if extra:
        described = f"{ctx.conversation.data.get('description', '')}；{extra}"
        if (problem := report_input.limit_description(ctx, described)):
            return Reply(problem)
        ctx.conversation.update(description=described)
        return ctx.reply("detail_added")
    return reask(ctx, "")


def step_location(ctx: Context, msg: Incoming) -> Reply:
    """Stores a location, a typed address, or the resident's building on 跳过; asks the category."""
    if msg.kind == "image":
        return reask(ctx, "expecting_text").prefixed(report_input.add_photo(ctx, msg))
    if msg.kind == "location":
        complaint = report_input.set_location(ctx, msg)
        return reask(ctx, "").prefixed(complaint) if complaint else _next(ctx, Step.CATEGORY)
    typed = (msg.text or "").strip()
    resident = ctx.resident
    if not typed:
        return reask(ctx, "expecting_text")
    if normalise(typed) in vocab.SKIP:
        # The home building, never the home address: reports are seen by more people.
        building = ctx.session.get(Building, resident.building_id) if resident.building_id else None
        return _next(ctx, Step.CATEGORY, community_id=resident.community_id,
                     building_id=resident.building_id, address=building.name if building else None,
                     label=None, lat=None, lng=None)
    if len(typed) > 60:
        return reask(ctx, "bad_place")
    building = places.match_building(ctx.session, resident.community_id, typed) \
        or resident.building_id
    return _next(ctx, Step.CATEGORY, community_id=resident.community_id, building_id=building,
                 address=typed, label=None, lat=None, lng=None)


def step_category(ctx: Context, msg: Incoming) -> Reply:
    """Confirms the suggested category or takes a number; shows the summary."""
    answer = normalise(msg.text or "")
    cats = _choices(ctx)
    if yes_or_no(answer) is True and ctx.conversation.data.get("suggested"):
        answer = "1"
    choice = numbered_choice(answer, len(cats))
    if choice is None:
        named = next((n for n, c in enumerate(cats, 1) if c.name in answer or answer == c.name[:2]), None)
        if named is None:
            kept = report_input.add_detail(ctx, msg)
            return reask(ctx, "").prefixed(kept) if kept else reask(ctx, "unknown_choice")
        choice = named
    return ask(ctx, Step.CONFIRM, category=cats[choice - 1].code, editing=False)


def step_confirm(ctx: Context, msg: Incoming) -> Reply:
    """Files the report on 1 (after offering someone else's nearby one), or goes back to a field."""
    answer = normalise(msg.text or "")
    edit = EDIT.match(answer)
    if edit:
        step = {"描述": Step.DESCRIBE, "位置": Step.LOCATION, "分类": Step.CATEGORY,
                "照片": Step.PHOTOS}[edit.group(1)]
        if step is Step.PHOTOS:
            ctx.conversation.update(photos=[])
        return ask(ctx, step, editing=True)
    if answer not in vocab.CONFIRM and yes_or_no(answer) is not True:
        kept = report_input.add_detail(ctx, msg) if yes_or_no(answer) is None else None
        return reask(ctx, "").prefixed(kept or text("confirm_or_edit"))
    data = ctx.conversation.data
    other = queries.nearby_open(ctx.uow, resident=ctx.resident, community_id=data["community_id"],
                                category_code=data["category"], lat=data.get("lat"),
                                lng=data.get("lng"), building_id=data.get("building_id"))
    if other is not None:
        return ask(ctx, Step.DUPLICATE, duplicate=other.id)
    return _file(ctx)


def step_duplicate(ctx: Context, msg: Incoming):
    """1 follows the existing report (+1); 2 files a new one anyway; a command leaves."""
    answer = normalise(msg.text or "")
    said = yes_or_no(answer)
    if said is False:
        return _file(ctx)
    if said is not True:
        return AGAIN if ctx.router.match(answer) else reask(ctx, "reply_one_or_two")
    other = ctx.session.get(Report, ctx.conversation.data["duplicate"])
    added = lifecycle.follow(ctx.uow, other, ctx.resident)
    ctx.conversation.start(FLOW, Step.DONE, code=other.code)
    return ctx.reply("followed_existing" if added else "already_following", code=other.code)


def step_done(ctx: Context, msg: Incoming):
    """A second tap on 提交 is answered, not filed again; anything else is handled afresh."""
    if normalise(msg.text or "") in vocab.CONFIRM:
        return ctx.reply("already_submitted", code=ctx.conversation.data.get("code"))
    return AGAIN


def _file(ctx: Context) -> Reply:
    data = ctx.conversation.data
    try:
        report = lifecycle.file(
            ctx.uow, resident=ctx.resident, community_id=data["community_id"],
            building_id=data.get("building_id"), category_code=data["category"],
            description=data["description"], address=data.get("address") or data.get("label"),
            lat=data.get("lat"), lng=data.get("lng"), photos=data.get("photos", []),
            source="wechat")
    except Refused as refusal:
        return ask(ctx, Step.CONFIRM, refusal.message)
    cat = category(ctx.config, report.category)
    ctx.conversation.start(FLOW, Step.DONE, code=report.code)
    if report.tier is Tier.PRIVATE:
        return Reply(text("report_filed_private", code=report.code,
                          advice=cat.advice or text("private_default_advice")))
    reply = text("report_filed", code=report.code, category=cat.name,
                 tier=text(f"tier_{cat.tier.value}"), due=local(ctx.config, report.accept_due_at),
                 handler=report.assignee_title)
    if cat.advice:
        reply += "\n" + text("report_advice", advice=cat.advice)
    return Reply(reply)


router.flow(Flow(FLOW, "flow_report", Step, {
    Step.PROPOSED: step_proposed, Step.DESCRIBE: step_describe, Step.PHOTOS: step_photos,
    Step.LOCATION: step_location,
    Step.CATEGORY: step_category, Step.CONFIRM: step_confirm, Step.DUPLICATE: step_duplicate,
    Step.DONE: step_done}, PROMPTS,
    free_text=frozenset({Step.DESCRIBE, Step.PHOTOS, Step.LOCATION})))


# --- entry points -------------------------------------------------------------

def start(ctx: Context, msg: Incoming | None = None) -> Reply:
    """Begin a report; a photo or location that started it is kept."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    resident = ctx.resident
    ctx.conversation.start(FLOW, Step.DESCRIBE, photos=[], community_id=resident.community_id,
                           building_id=resident.building_id, address=None)
    prefix = None
    if msg is not None and msg.kind == "image":
        prefix = report_input.add_photo(ctx, msg)
    elif msg is not None and msg.kind == "location":
        prefix = report_input.set_location(ctx, msg) or text("location_set", place=report_input.place(ctx))
    return ask(ctx, Step.DESCRIBE, prefix)


@router.menu("REPORT", "menu_report", order=10, group="menu_group_reports")
def report_menu(ctx: Context, msg: Incoming) -> Reply:
    return start(ctx)


@router.keyword("报事", "随手拍", "反映", "投诉", "报修", "反映问题")
def report_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return start(ctx)


@router.intent("report")
def report_in_words(ctx: Context, msg: Incoming) -> Reply:
    """Words that describe a problem ("楼道灯坏了好几天了"): offered as a report, asked once."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    described = (msg.text or "").strip()
    if report_input.limit_description(ctx, described):
        return start(ctx)
    resident = ctx.resident
    ctx.conversation.start(FLOW, Step.PROPOSED, photos=[], community_id=resident.community_id,
                           building_id=resident.building_id, address=None, description=described)
    return ask(ctx, Step.PROPOSED)


@router.message("image", "location")
def media_starts_a_report(ctx: Context, msg: Incoming) -> Reply:
    """A photo or location sent outside any conversation starts a report with it."""
    return start(ctx, msg)

