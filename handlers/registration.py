"""Registration (居民登记) and profile (我的信息): follow, bind community, unfollow.

States of the `registration` flow: COMMUNITY → ADDRESS → MOBILE → done.
The `profile` flow reuses those steps behind a MENU step and returns to the
profile after each change; SWITCH confirms a community change from a QR scan.

```mermaid
stateDiagram-v2
    [*] --> COMMUNITY: follow / first message
    [*] --> ADDRESS: follow via community QR
    COMMUNITY --> ADDRESS: number or name
    ADDRESS --> MOBILE: 2-30 chars
    MOBILE --> [*]: 11-digit number or 跳过
```
"""
from __future__ import annotations

import enum
import re

from sqlalchemy import delete, select

from bot.context import Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming, normalise
from bot.outbox import cancel_for_resident
from bot.reports import match_building
from bot.router import Router
from bot.texts import text
from models import Community, ProcessedMessage, Resident, ResidentRole

router = Router()

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
ADDRESS_MIN, ADDRESS_MAX = 2, 30


class Step(enum.StrEnum):
    COMMUNITY = "community"
    ADDRESS = "address"
    MOBILE = "mobile"
    MENU = "menu"
    SWITCH = "switch"


# --- helpers ----------------------------------------------------------------

def _communities(ctx: Context) -> list[Community]:
    return list(ctx.session.scalars(select(Community).order_by(Community.id)))


def _community_name(ctx: Context, resident: Resident) -> str:
    community = ctx.session.get(Community, resident.community_id) if resident.community_id else None
    return community.name if community else text("not_set")


def profile_text(ctx: Context, resident: Resident) -> str:
    roles = "、".join(text(f"role_{role.value}") for role in sorted(resident.role_set))
    return text("profile", community=_community_name(ctx, resident),
                address=resident.address or text("not_set"),
                mobile=resident.masked_mobile or text("not_set"), roles=roles)


def _editing(ctx: Context) -> bool:
    return ctx.conversation.flow == PROFILE


def _after_change(ctx: Context, next_step: Step) -> Reply:
    """In registration go on to `next_step`; in profile editing show the result."""
    if _editing(ctx):
        ctx.conversation.goto(Step.MENU)
        return ctx.reply("profile_updated", profile=profile_text(ctx, ctx.resident))
    ctx.conversation.goto(next_step)
    return Reply(FLOWS_PROMPTS[next_step](ctx))


def _reask(ctx: Context, key: str) -> Reply:
    return Reply(text(key) + "\n" + FLOWS_PROMPTS[Step(ctx.conversation.step)](ctx))


def _text_of(msg: Incoming) -> str | None:
    return msg.text.strip() if msg.text and msg.text.strip() else None


def bind_community(ctx: Context, community: Community) -> None:
    resident = ctx.resident
    if resident.community_id != community.id:
        resident.community_id = community.id
        resident.building_id = None  # a building belongs to the old community


# --- prompts ----------------------------------------------------------------

def ask_community(ctx: Context) -> str:
    communities = _communities(ctx)
    if not communities:
        return text("no_communities")
    choices = "\n".join(text("community_choice", n=n, name=c.name, district=c.district)
                        for n, c in enumerate(communities, start=1))
    return text("ask_community", choices=choices)


def ask_profile_menu(ctx: Context) -> str:
    return text("profile_menu", profile=profile_text(ctx, ctx.resident))


def ask_switch(ctx: Context) -> str:
    target = ctx.session.get(Community, ctx.conversation.data.get("target"))
    return text("confirm_switch_community", current=_community_name(ctx, ctx.resident),
                target=target.name if target else "")


FLOWS_PROMPTS = {
    Step.COMMUNITY: ask_community,
    Step.ADDRESS: lambda ctx: text("ask_address"),
    Step.MOBILE: lambda ctx: text("ask_mobile"),
    Step.MENU: ask_profile_menu,
    Step.SWITCH: ask_switch,
}


# --- steps ------------------------------------------------------------------

def step_community(ctx: Context, msg: Incoming) -> Reply:
    """Stores the chosen community (number or name); asks for the building."""
    answer = _text_of(msg)
    communities = _communities(ctx)
    chosen = None
    if answer and answer.isdigit() and 1 <= int(answer) <= len(communities):
        chosen = communities[int(answer) - 1]
    elif answer:
        wanted = normalise(answer)
        chosen = next((c for c in communities if wanted and wanted in normalise(c.name)), None)
    if chosen is None:
        return _reask(ctx, "bad_community" if answer else "expecting_text")
    bind_community(ctx, chosen)
    reply = _after_change(ctx, Step.ADDRESS)
    return reply.prefixed(None if _editing(ctx) else text("community_bound", community=chosen.name))


def step_address(ctx: Context, msg: Incoming) -> Reply:
    """Stores the building/unit text (2-30 chars); asks for the mobile number."""
    answer = _text_of(msg)
    if answer is None:
        return _reask(ctx, "expecting_text")
    if not ADDRESS_MIN <= len(answer) <= ADDRESS_MAX:
        return _reask(ctx, "bad_address")
    ctx.resident.address = answer
    ctx.resident.building_id = match_building(ctx.session, ctx.resident.community_id, answer)
    return _after_change(ctx, Step.MOBILE)


def step_mobile(ctx: Context, msg: Incoming) -> Reply:
    """Stores an 11-digit mainland mobile number, or none on 跳过; finishes registration."""
    answer = _text_of(msg)
    if answer is None:
        return _reask(ctx, "expecting_text")
    number = re.sub(r"[\s\-]", "", normalise(answer))
    if number == text("skip_words"):
        number = None
    elif not MOBILE_RE.match(number):
        return _reask(ctx, "bad_mobile")
    resident = ctx.resident
    if number is not None or not _editing(ctx):
        resident.mobile = number
    if _editing(ctx):
        ctx.conversation.goto(Step.MENU)
        return ctx.reply("profile_updated", profile=profile_text(ctx, resident))
    resident.registered_at = resident.registered_at or ctx.now
    ctx.conversation.clear()
    return ctx.reply("registered", profile=profile_text(ctx, resident))


def step_menu(ctx: Context, msg: Incoming) -> Reply:
    """Picks which profile field to change (1 community, 2 building, 3 mobile)."""
    answer = _text_of(msg)
    target = {"1": Step.COMMUNITY, "2": Step.ADDRESS, "3": Step.MOBILE}.get(answer or "")
    if target is None:
        return _reask(ctx, "unknown_choice")
    ctx.conversation.goto(target)
    return Reply(FLOWS_PROMPTS[target](ctx))


def step_switch(ctx: Context, msg: Incoming) -> Reply:
    """Confirms moving to the community of a scanned QR code (1 yes, 2 no)."""
    answer = _text_of(msg)
    if answer == "1":
        community = ctx.session.get(Community, ctx.conversation.data.get("target"))
        ctx.conversation.clear()
        if community is not None:
            bind_community(ctx, community)
            ctx.conversation.start(PROFILE, Step.ADDRESS)
            return Reply(text("community_bound", community=community.name) + "\n"
                         + text("ask_address"))
    if answer == "2":
        ctx.conversation.clear()
        return ctx.reply("switch_kept", current=_community_name(ctx, ctx.resident))
    return _reask(ctx, "reply_one_or_two")


REGISTRATION, PROFILE = "registration", "profile"
STEPS = {Step.COMMUNITY: step_community, Step.ADDRESS: step_address, Step.MOBILE: step_mobile}
router.flow(Flow(REGISTRATION, "flow_registration", STEPS, FLOWS_PROMPTS))
router.flow(Flow(PROFILE, "flow_profile",
                 {**STEPS, Step.MENU: step_menu, Step.SWITCH: step_switch}, FLOWS_PROMPTS))


# --- entry points -------------------------------------------------------------

def start_registration(ctx: Context, greeting: str | None = None) -> Reply:
    """Begin at the first missing piece: community, else building."""
    step = Step.ADDRESS if ctx.resident.community_id else Step.COMMUNITY
    ctx.conversation.start(REGISTRATION, step)
    return Reply(FLOWS_PROMPTS[step](ctx)).prefixed(greeting)


def _scene_community(ctx: Context, event_key: str | None) -> Community | None:
    scene = (event_key or "").removeprefix("qrscene_")
    if not scene:
        return None
    return ctx.session.scalars(select(Community).where(Community.scene_code == scene)).first()


@router.event("subscribe")
def on_subscribe(ctx: Context, msg: Incoming) -> Reply:
    """Welcomes the follower; a community QR scene binds the community first."""
    resident = ctx.resident
    resident.followed, resident.followed_at, resident.unfollowed_at = True, ctx.now, None
    community = _scene_community(ctx, msg.event_key)
    greeting = text("welcome")
    if resident.registered_at and not community:
        return Reply(text("welcome_back") + "\n" + profile_text(ctx, resident))
    if community is not None:
        bind_community(ctx, community)
        greeting += "\n" + text("community_bound", community=community.name)
    return start_registration(ctx, greeting)


@router.event("scan")
def on_scan(ctx: Context, msg: Incoming) -> Reply | None:
    """An existing follower scanned a community QR: bind, or confirm a change."""
    community = _scene_community(ctx, msg.event_key)
    resident = ctx.resident
    if community is None:
        return None
    if resident.community_id is None:
        bind_community(ctx, community)
        return start_registration(ctx, text("community_bound", community=community.name))
    if resident.community_id == community.id:
        return ctx.reply("already_in_community", community=community.name)
    ctx.conversation.start(PROFILE, Step.SWITCH, target=community.id)
    return Reply(ask_switch(ctx))


@router.event("unsubscribe")
def on_unsubscribe(ctx: Context, msg: Incoming) -> None:
    """Stops all pushes and anonymises the person; governance records stay."""
    if ctx.resident is not None:
        anonymise(ctx, ctx.resident)


def anonymise(ctx: Context, resident: Resident) -> None:
    """Erase personal data per the platform rules, keeping the resident row for records."""
    openid = resident.openid
    resident.openid = None
    resident.name = resident.mobile = resident.address = None
    resident.last_lat = resident.last_lng = None
    resident.last_location_at = resident.last_message_at = resident.last_event_at = None
    resident.followed, resident.unfollowed_at, resident.anonymised_at = False, ctx.now, ctx.now
    resident.tagged_community_id = None
    ctx.conversation.clear()
    cancel_for_resident(ctx.session, resident.id, "recipient unfollowed")
    ctx.session.execute(delete(ResidentRole).where(ResidentRole.resident_id == resident.id))
    ctx.session.execute(delete(ProcessedMessage).where(ProcessedMessage.openid == openid))


@router.menu("MY_PROFILE", "menu_profile", order=80)
def my_profile(ctx: Context, msg: Incoming) -> Reply:
    """Shows the profile and offers to change a field."""
    if ctx.resident.community_id is None:
        return start_registration(ctx)
    ctx.conversation.start(PROFILE, Step.MENU)
    return Reply(ask_profile_menu(ctx))


@router.keyword("我的资料", "我的资讯", "个人信息", "修改信息", "登记", "注册")
def my_profile_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return my_profile(ctx, msg)


@router.fallback
def register_first(ctx: Context, msg: Incoming) -> Reply | None:
    """A resident not yet bound to a community is led into registration."""
    if ctx.resident is not None and ctx.resident.community_id is None:
        return start_registration(ctx, text("welcome"))
    return None
