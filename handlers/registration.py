"""Registration (居民登记) and profile (我的信息); follow and unfollow.

The `registration` flow: COMMUNITY → CONSENT → NAME → ADDRESS → MOBILE → done.
The `profile` flow reuses those steps behind a MENU step and returns to the
profile after each change; SWITCH confirms a community change from a QR scan.

```mermaid
stateDiagram-v2
    [*] --> COMMUNITY: follow / first message
    [*] --> CONSENT: follow via community QR
    COMMUNITY --> CONSENT: number or name
    CONSENT --> NAME: 1 agree
    CONSENT --> [*]: 2 decline (nothing personal kept)
    NAME --> ADDRESS: a name or 跳过
    ADDRESS --> MOBILE: 2-30 chars
    MOBILE --> [*]: 11-digit number or 跳过
```
"""
from __future__ import annotations

import enum

from sqlalchemy import select

from bot.context import AGAIN, Context, Reply
from bot.conversation import Flow, ask, done, reask, start
from bot.inbound import Incoming
from bot.router import Router
from bot.understanding import yes_or_no
from core.numbers import numbered_choice
from core.texts import text, vocab
from core.words import normalise
from domain import residents
from domain.errors import Refused
from models import Community, Resident

router = Router("registration")
REGISTRATION, PROFILE = "registration", "profile"


class Step(enum.StrEnum):
    COMMUNITY = "community"
    CONSENT = "consent"
    NAME = "name"
    ADDRESS = "address"
    MOBILE = "mobile"


class ProfileStep(enum.StrEnum):
    COMMUNITY = "community"
    NAME = "name"
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
    return text("profile", name=resident.name or text("not_set"),
                community=_community_name(ctx, resident),
                address=resident.address or text("not_set"),
                mobile=resident.masked_mobile or text("not_set"), roles=roles)


def _editing(ctx: Context) -> bool:
    return ctx.conversation.flow == PROFILE


def _after_change(ctx: Context, next_step: Step) -> Reply:
    """In registration go on to `next_step`; in profile editing show the result."""
    if _editing(ctx):
        return ask(ctx, ProfileStep.MENU, text("profile_updated"))
    return ask(ctx, next_step)


def _answer(msg: Incoming) -> str | None:
    return msg.text.strip() if msg.text and msg.text.strip() else None


def registered(ctx: Context) -> bool:
    """Bound to a community and agreed to the current privacy notice."""
    resident = ctx.resident
    return bool(resident and resident.community_id and residents.has_consented(ctx.uow, resident))


def registered_first(ctx: Context) -> Reply | None:
    """Registration comes first for anything that keeps a person's data."""
    return None if registered(ctx) else start_registration(ctx, text("welcome"))


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


PROMPTS = {
    Step.COMMUNITY: ask_community,
    Step.CONSENT: lambda ctx: text("ask_consent"),
    Step.NAME: lambda ctx: text("ask_name"),
    Step.ADDRESS: lambda ctx: text("ask_address"),
    Step.MOBILE: lambda ctx: text("ask_mobile"),
}


# --- steps ------------------------------------------------------------------

def step_community(ctx: Context, msg: Incoming) -> Reply:
    """Stores the chosen community (number or name); asks for consent."""
    answer = _answer(msg)
    communities = _communities(ctx)
    chosen = None
    if (number := numbered_choice(answer, len(communities))) is not None:
        chosen = communities[number - 1]
    elif answer:
        wanted = normalise(answer)
        chosen = next((c for c in communities if wanted and wanted in normalise(c.name)), None)
    if chosen is None:
        return reask(ctx, "bad_community" if answer else "expecting_text")
    residents.bind_community(ctx.uow, ctx.resident, chosen)
    if _editing(ctx):
        return ask(ctx, ProfileStep.MENU, text("profile_updated"))
    prefix = text("community_welcome" if not ctx.resident.registered_at else "community_bound",
                  community=chosen.name)
    if residents.has_consented(ctx.uow, ctx.resident):
        return ask(ctx, Step.NAME, prefix)
    return ask(ctx, Step.CONSENT, prefix)


def step_consent(ctx: Context, msg: Incoming) -> Reply:
    """1 records consent and asks the name; 2 keeps nothing personal and ends."""
    answer = yes_or_no(_answer(msg))
    if answer is True:
        residents.consent(ctx.uow, ctx.resident)
        return ask(ctx, Step.NAME)
    if answer is False:
        return done(ctx, "consent_declined")
    return reask(ctx, "reply_one_or_two")


def step_name(ctx: Context, msg: Incoming) -> Reply:
    """Stores how to address the person (or none on 跳过); asks the building."""
    answer = _answer(msg)
    if answer is None:
        return reask(ctx, "expecting_text")
    try:
        residents.rename(ctx.uow, ctx.resident, None if normalise(answer) in vocab.SKIP else answer)
    except Refused as refusal:
        return reask(ctx, refusal.key, **refusal.values)
    return _after_change(ctx, Step.ADDRESS)


def step_address(ctx: Context, msg: Incoming) -> Reply:
    """Stores the building/unit text (2-30 chars); asks for the mobile number."""
    answer = _answer(msg)
    if answer is None:
        return reask(ctx, "expecting_text")
    try:
        residents.set_address(ctx.uow, ctx.resident, answer)
    except Refused as refusal:
        return reask(ctx, refusal.key)
    return _after_change(ctx, Step.MOBILE)


def step_mobile(ctx: Context, msg: Incoming) -> Reply:
    """Stores an 11-digit mainland mobile number, or none on 跳过; finishes registration."""
    answer = _answer(msg)
    if answer is None:
        return reask(ctx, "expecting_text")
    number = residents.clean_mobile(answer)
    skipped = number in vocab.SKIP
    try:
        if not skipped or not _editing(ctx):
            residents.set_mobile(ctx.uow, ctx.resident, None if skipped else number)
    except Refused as refusal:
        return reask(ctx, refusal.key)
    if _editing(ctx):
        return ask(ctx, ProfileStep.MENU, text("profile_updated"))
    residents.finish_registration(ctx.uow, ctx.resident)
    return done(ctx, "registered", profile=profile_text(ctx, ctx.resident))


PROFILE_CHOICES = {"1": ProfileStep.COMMUNITY, "2": ProfileStep.NAME, "3": ProfileStep.ADDRESS,
                   "4": ProfileStep.MOBILE}


def step_menu(ctx: Context, msg: Incoming):
    """Picks which profile field to change (1 community, 2 name, 3 building, 4 mobile, or the
    field's name); other words are some other request, handled afresh."""
    choice = numbered_choice(_answer(msg), len(PROFILE_CHOICES))
    step = PROFILE_CHOICES[str(choice)] if choice is not None else _field_named(_answer(msg))
    return ask(ctx, step) if step is not None else AGAIN


# Words naming a profile field ("调整一下我的手机号", "我搬家了").
FIELD_WORDS = ((ProfileStep.MOBILE, ("手机", "电话", "号码")), (ProfileStep.NAME, ("称呼", "名字", "改名")),
               (ProfileStep.ADDRESS, ("地址", "楼栋", "搬家", "住的", "门牌")),
               (ProfileStep.COMMUNITY, ("社区",)))


def _field_named(words: str | None) -> ProfileStep | None:
    said = normalise(words or "")
    return next((step for step, names in FIELD_WORDS if any(n in said for n in names)), None)


def step_switch(ctx: Context, msg: Incoming) -> Reply:
    """Confirms moving to the community of a scanned QR code (1 yes, 2 no)."""
    answer = yes_or_no(_answer(msg))
    if answer is True:
        community = ctx.session.get(Community, ctx.conversation.data.get("target"))
        ctx.conversation.clear()
        if community is not None:
            residents.bind_community(ctx.uow, ctx.resident, community)
            return start(ctx, PROFILE, ProfileStep.ADDRESS,
                         text("community_bound", community=community.name))
    if answer is False:
        return done(ctx, "switch_kept", current=_community_name(ctx, ctx.resident))
    return reask(ctx, "reply_one_or_two")


STEPS = {Step.COMMUNITY: step_community, Step.CONSENT: step_consent, Step.NAME: step_name,
         Step.ADDRESS: step_address, Step.MOBILE: step_mobile}
router.flow(Flow(REGISTRATION, "flow_registration", Step, STEPS, PROMPTS,
                 free_text=frozenset({Step.NAME, Step.ADDRESS})))
router.flow(Flow(PROFILE, "flow_profile", ProfileStep, {
    ProfileStep.COMMUNITY: step_community, ProfileStep.NAME: step_name,
    ProfileStep.ADDRESS: step_address, ProfileStep.MOBILE: step_mobile,
    ProfileStep.MENU: step_menu, ProfileStep.SWITCH: step_switch},
    {ProfileStep.COMMUNITY: ask_community, ProfileStep.NAME: PROMPTS[Step.NAME],
     ProfileStep.ADDRESS: PROMPTS[Step.ADDRESS], ProfileStep.MOBILE: PROMPTS[Step.MOBILE],
     ProfileStep.MENU: ask_profile_menu, ProfileStep.SWITCH: ask_switch},
    free_text=frozenset({ProfileStep.NAME, ProfileStep.ADDRESS})))


# --- entry points -------------------------------------------------------------

def start_registration(ctx: Context, greeting: str | None = None) -> Reply:
    """Begin at the first missing piece: community, else consent, else the name."""
    resident = ctx.resident
    if resident.community_id is None:
        step = Step.COMMUNITY
    elif not residents.has_consented(ctx.uow, resident):
        step = Step.CONSENT
    else:
        step = Step.NAME
    return start(ctx, REGISTRATION, step, greeting)


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
        residents.bind_community(ctx.uow, resident, community)
        greeting += "\n" + text("community_welcome", community=community.name)
    return start_registration(ctx, greeting)


@router.event("scan")
def on_scan(ctx: Context, msg: Incoming) -> Reply | None:
    """An existing follower scanned a community QR: bind, or confirm a change."""
    community = _scene_community(ctx, msg.event_key)
    resident = ctx.resident
    if community is None:
        return None
    if resident.community_id is None:
        residents.bind_community(ctx.uow, resident, community)
        return start_registration(ctx, text("community_welcome", community=community.name))
    if resident.community_id == community.id:
        return ctx.reply("already_in_community", community=community.name)
    return start(ctx, PROFILE, ProfileStep.SWITCH, target=community.id)


@router.event("unsubscribe")
def on_unsubscribe(ctx: Context, msg: Incoming) -> None:
    """Stops all pushes and erases the person's data; governance records stay."""
    if ctx.resident is not None:
        residents.erase(ctx.uow, ctx.resident)


@router.intent("profile")
@router.menu("MY_PROFILE", "menu_profile", order=80)
def my_profile(ctx: Context, msg: Incoming) -> Reply:
    """Shows the profile and offers to change a field."""
    if not registered(ctx):
        return start_registration(ctx)
    named = _field_named(msg.text) if msg.kind in ("text", "voice") else None
    if named is not None and named is not ProfileStep.COMMUNITY:
        return _edit_field(ctx, named)
    return start(ctx, PROFILE, ProfileStep.MENU)


def _edit_field(ctx: Context, step: ProfileStep) -> Reply:
    """Straight to the field the resident named, then back to the profile."""
    ctx.conversation.start(PROFILE, ProfileStep.MENU)
    return ask(ctx, step)


@router.keyword("我的资料", "我的资讯", "个人信息", "修改信息", "登记", "注册", "改名字", "改称呼")
def my_profile_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return my_profile(ctx, msg)


@router.fallback
def register_first(ctx: Context, msg: Incoming) -> Reply | None:
    """A resident not yet bound to a community is led into registration."""
    if ctx.resident is not None and ctx.resident.community_id is None:
        return start_registration(ctx, text("welcome"))
    return None
