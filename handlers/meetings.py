"""Residents and meetings by chat: browse (议事会/活动), 报名, 取消报名, 我的报名;
staff check people in with 签到 <code>.

Conversations: `meetings` (BROWSE: 更多 pages on, anything else is handled afresh)
and `signup` (CONFIRM: 1 signs up or joins the waitlist, 2 drops it).
"""
from __future__ import annotations

import enum
from datetime import timedelta

from sqlalchemy import func, select

from bot.context import AGAIN, Context, Reply
from bot.conversation import Flow, done, reask, start
from bot.inbound import Incoming
from bot.router import Router
from bot.understanding import yes_or_no
from core.clock import local
from core.numbers import to_int
from core.texts import text, vocab
from core.words import normalise
from domain.errors import Refused
from domain.meetings import admin, signups
from domain.people import person_name
from handlers.registration import registered_first
from models import Meeting, MeetingStatus, Resident, Signup, SignupStatus

router = Router("meetings")
PAGE = 5
NUMBER_AND_NAME = r"([0-9]{1,3}|[一二两三四五六七八九十]{1,3})(\s+.{1,32})?"


class BrowseStep(enum.StrEnum):
    BROWSE = "browse"


class SignupStep(enum.StrEnum):
    CONFIRM = "confirm"


def _page(ctx: Context, page: int) -> Reply:
    # One more than the page shows tells whether there is a next page.
    found = signups.upcoming(ctx.session, ctx.resident, ctx.now, want=page * PAGE + 1)
    if not found:
        ctx.conversation.clear()
        return ctx.reply("meetings_none")
    shown = found[(page - 1) * PAGE: page * PAGE]
    if not shown:
        ctx.conversation.clear()
        return ctx.reply("meetings_no_more")
    lines = []
    for n, m in enumerate(shown, start=(page - 1) * PAGE + 1):
        seats = signups.seats_left(m)
        left = "" if seats is None else (text("meeting_seats_full") if m.confirmed_count >= seats
                                         else text("meeting_seats_left", left=seats - m.confirmed_count))
        lines.append(text("meeting_line", n=n, title=m.title, place=m.place, seats=left,
                          when=local(ctx.config, m.starts_at)))
    more = len(found) > page * PAGE
    if more:  # only a list with another page keeps the person in it (更多)
        ctx.conversation.start("meetings", BrowseStep.BROWSE, page=page)
    else:
        ctx.conversation.clear()
    return ctx.reply("meetings_list", page=page, items="\n".join(lines),
                     more=text("meetings_more") if more else "")


@router.intent("meetings")
@router.menu("MEETINGS", "menu_meetings", order=30, group="menu_group_meetings")
def list_meetings(ctx: Context, msg: Incoming) -> Reply:
    """Upcoming meetings open to this resident, 5 a page, numbered."""
    if ctx.resident.community_id is None:
        return registered_first(ctx)
    return _page(ctx, 1)


@router.keyword("议事会", "活动", "议事", "会议", "议事厅")
def list_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return list_meetings(ctx, msg)


def step_browse(ctx: Context, msg: Incoming):
    """更多 shows the next page; anything else leaves the list and is handled afresh."""
    if normalise(msg.text or "") in vocab.MORE:
        return _page(ctx, ctx.conversation.data.get("page", 1) + 1)
    return AGAIN


def _nth(ctx: Context, args: str) -> tuple[Meeting | None, str, Reply | None]:
    """The meeting numbered `n` on the resident's list, and the rest of the words."""
    parts = args.split(maxsplit=1)
    n = to_int(parts[0], max_value=signups.MAX_LISTED) if parts else None
    if n is None or n < 1:
        return None, "", ctx.reply("ask_signup_number")
    found = signups.upcoming(ctx.session, ctx.resident, ctx.now, want=n)
    if not 1 <= n <= len(found):
        return None, "", ctx.reply("meeting_not_on_list", n=n)
    return ctx.session.get(Meeting, found[n - 1].id), parts[1].strip()[:32] if len(parts) > 1 else "", None


@router.keyword("报名", args=NUMBER_AND_NAME)
def sign_up(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Asks to confirm (or to join the waitlist when full); '报名 1 张阿姨' signs up family."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    meeting, proxy, problem = _nth(ctx, args)
    if problem:
        return problem
    try:
        signups.check_open(ctx.session, ctx.config, meeting, ctx.resident, ctx.now)
        signups.refuse_twice(ctx.session, meeting, ctx.resident, proxy or None)
    except Refused as refusal:
        return Reply(refusal.message)
    seats = signups.seats_left(meeting)
    full = seats is not None and meeting.confirmed_count >= seats
    return start(ctx, "signup", SignupStep.CONFIRM, meeting=meeting.id, proxy=proxy or None,
                 waitlist=full)


def ask_confirm(ctx: Context) -> str:
    data = ctx.conversation.data
    meeting = ctx.session.get(Meeting, data["meeting"])
    if data.get("waitlist"):
        return text("confirm_waitlist", title=meeting.title)
    who = text("signup_for", name=data["proxy"]) if data.get("proxy") else ""
    return text("confirm_signup", title=meeting.title, who=who,
                when_where=signups.when_where(ctx.config, meeting))


def step_confirm(ctx: Context, msg: Incoming) -> Reply:
    """1 signs up (or joins the waitlist); 2 drops it."""
    answer = yes_or_no(msg.text)
    data = ctx.conversation.data
    if answer is False:
        return done(ctx, "signup_dropped")
    if answer is not True:
        return reask(ctx, "reply_one_or_two")
    try:
        signup = signups.sign_up(ctx.uow, data["meeting"], ctx.resident,
                                 proxy_name=data.get("proxy"), waitlist=data.get("waitlist", False))
    except Refused as refusal:
        if refusal.key == "signup_full":  # the last seat went while this resident was deciding
            ctx.conversation.update(waitlist=True)
            return reask(ctx, "")
        return done(ctx, refusal.key, **refusal.values)
    ctx.conversation.clear()
    meeting = ctx.session.get(Meeting, data["meeting"])
    if signup.status is SignupStatus.WAITLISTED:
        return ctx.reply("signup_waitlisted", position=_position(ctx, signup))
    return ctx.reply("signup_done", title=meeting.title, code=signup.checkin_code,
                     when_where=signups.when_where(ctx.config, meeting),
                     qr=signups.qr_url(ctx.config, meeting.id, signup.checkin_code))


def _position(ctx: Context, signup: Signup | signups.Mine) -> int:
    return ctx.session.scalar(select(func.count()).select_from(Signup).where(
        Signup.meeting_id == signup.meeting_id, Signup.status == SignupStatus.WAITLISTED,
        Signup.id <= signup.id)) or 1


router.flow(Flow("meetings", "flow_meetings", BrowseStep, {BrowseStep.BROWSE: step_browse},
                 {BrowseStep.BROWSE: lambda ctx: text("meetings_browse_prompt")},
                 finished=frozenset({BrowseStep.BROWSE}), resting=frozenset({BrowseStep.BROWSE})))
router.flow(Flow("signup", "flow_signup", SignupStep, {SignupStep.CONFIRM: step_confirm},
                 {SignupStep.CONFIRM: ask_confirm}))


@router.keyword("取消报名", args=NUMBER_AND_NAME)
def cancel_signup(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Withdraws the resident's own sign-up for meeting n (a seat passes to the waitlist)."""
    meeting, proxy, problem = _nth(ctx, args)
    if problem:
        return problem
    signup = ctx.session.scalar(select(Signup).where(
        Signup.meeting_id == meeting.id, Signup.resident_id == ctx.resident.id,
        Signup.status != SignupStatus.CANCELLED,
        Signup.proxy_name == proxy if proxy else Signup.proxy_name.is_(None)))
    if signup is None:
        return ctx.reply("cancel_not_signed_up")
    try:
        signups.cancel_signup(ctx.uow, signup)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("cancel_signup_done", title=meeting.title)


@router.intent("my_signups")
@router.menu("MY_SIGNUPS", "menu_my_signups", order=40, group="menu_group_meetings")
def my_signups(ctx: Context, msg: Incoming) -> Reply:
    """The resident's sign-ups for meetings still to come, with codes or waitlist places."""
    rows = signups.mine(ctx.session, ctx.resident, ctx.now)
    if not rows:
        return ctx.reply("my_signups_empty")
    lines = []
    for signup in rows:
        extra = text("my_signup_code", code=signup.checkin_code) \
            if signup.status is SignupStatus.CONFIRMED else \
            text("my_signup_position", position=_position(ctx, signup))
        title = signup.title + (text("signup_for", name=signup.proxy_name) if signup.proxy_name else "")
        if signup.meeting_status is MeetingStatus.CANCELLED:
            extra = "｜" + text("status_cancelled_meeting")
        lines.append(text("my_signup_line", title=title, when=local(ctx.config, signup.starts_at),
                          status=text(f"signup_status_{signup.status.value}"), extra=extra))
    return ctx.reply("my_signups", items="\n".join(lines))


@router.keyword("我的活动")
def my_signups_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return my_signups(ctx, msg)


@router.keyword("签到", args=r"\d{6}")
def check_in(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Staff check a person in by code at a meeting of their community happening now."""
    if not ctx.actor.is_staff_of(ctx.resident.community_id):
        return ctx.reply("not_allowed")
    if not args:
        return ctx.reply("ask_code", command="签到")
    running = ctx.session.scalars(select(Meeting).where(
        Meeting.community_id == ctx.resident.community_id,
        Meeting.status == MeetingStatus.PUBLISHED,
        Meeting.starts_at <= ctx.now + timedelta(hours=2),
        Meeting.ends_at >= ctx.now - timedelta(hours=1))).all()
    if not running:
        return ctx.reply("checkin_no_meeting")
    last = None
    for meeting in running:
        try:
            signup = admin.check_in(ctx.uow, ctx.actor, meeting, args)
        except Refused as refusal:
            last = refusal if last is None or refusal.key != "checkin_other_meeting" else last
            continue
        name = signup.proxy_name or person_name(ctx.session.get(Resident, signup.resident_id))
        return ctx.reply("checkin_done", name=f"{meeting.title} {name}")
    return Reply(last.message)
