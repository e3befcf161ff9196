"""Residents and meetings by chat: browse (议事会/活动), 报名, 取消报名, 我的报名;
staff check people in with 签到 <code>.

Conversations: `meetings` (BROWSE: 更多 pages on, anything else starts afresh)
and `signup` (CONFIRM: 1 signs up or joins the waitlist, 2 drops it).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot import meeting_admin, meetings
from bot.context import Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming, normalise
from bot.router import Router
from bot.texts import text
from handlers.registration import start_registration
from models import Meeting, MeetingStatus, Role, Signup, SignupStatus

router = Router()
PAGE = 5
BROWSE, CONFIRM = "browse", "confirm"


def _page(ctx: Context, page: int) -> Reply:
    # One more than the page shows tells whether there is a next page.
    found = meetings.upcoming(ctx.session, ctx.resident, ctx.now, want=page * PAGE + 1)
    if not found:
        ctx.conversation.clear()
        return ctx.reply("meetings_none")
    shown = found[(page - 1) * PAGE: page * PAGE]
    if not shown:
        return ctx.reply("meetings_no_more")
    lines = []
    for n, m in enumerate(shown, start=(page - 1) * PAGE + 1):
        seats = meetings.seats_left(m)
        left = "" if seats is None else (text("meeting_seats_full") if m.confirmed_count >= seats
                                         else text("meeting_seats_left", left=seats - m.confirmed_count))
        lines.append(text("meeting_line", n=n, title=m.title, place=m.place, seats=left,
                          when=meetings.local(ctx.config, m.starts_at)))
    more = text("meetings_more") if len(found) > page * PAGE else ""
    ctx.conversation.start("meetings", BROWSE, page=page)
    return ctx.reply("meetings_list", page=page, items="\n".join(lines), more=more)


@router.menu("MEETINGS", "menu_meetings", order=30, group="menu_group_meetings")
def list_meetings(ctx: Context, msg: Incoming) -> Reply:
    """Upcoming meetings open to this resident, 5 a page, numbered."""
    if ctx.resident.community_id is None:
        return start_registration(ctx, text("welcome"))
    return _page(ctx, 1)


@router.keyword("议事会", "活动", "议事", "会议", "议事厅")
def list_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return list_meetings(ctx, msg)


def step_browse(ctx: Context, msg: Incoming) -> Reply | None:
    """更多 shows the next page; anything else leaves the list and is handled afresh."""
    if normalise(msg.text or "") in ("更多", "下一页"):
        return _page(ctx, ctx.conversation.data.get("page", 1) + 1)
    ctx.conversation.clear()
    return ctx.router.dispatch(ctx, msg)


def _nth(ctx: Context, args: str) -> tuple[Meeting | None, str, Reply | None]:
    """The meeting numbered `n` on the resident's list, and the rest of the words."""
    parts = args.split(maxsplit=1)
    if not parts or not parts[0].isdigit():
        return None, "", ctx.reply("ask_signup_number")
    n = int(parts[0])
    found = meetings.upcoming(ctx.session, ctx.resident, ctx.now, want=n)
    if not 1 <= n <= len(found):
        return None, "", ctx.reply("meeting_not_on_list", n=n)
    return found[n - 1], parts[1].strip() if len(parts) > 1 else "", None


@router.keyword("报名", args=True)
def sign_up(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Asks to confirm (or to join the waitlist when full); '报名 1 张阿姨' signs up family."""
    meeting, proxy, problem = _nth(ctx, args)
    if problem:
        return problem
    try:
        meetings.check_open(ctx.session, ctx.config, meeting, ctx.resident, ctx.now)
        meetings.refuse_twice(ctx.session, meeting, ctx.resident, proxy[:32] or None)
    except meetings.MeetingError as exc:
        return Reply(str(exc))
    seats = meetings.seats_left(meeting)
    full = seats is not None and meeting.confirmed_count >= seats
    ctx.conversation.start("signup", CONFIRM, meeting=meeting.id, proxy=proxy[:32] or None,
                           waitlist=full)
    return Reply(ask_confirm(ctx))


def ask_confirm(ctx: Context) -> str:
    data = ctx.conversation.data
    meeting = ctx.session.get(Meeting, data["meeting"])
    if data.get("waitlist"):
        return text("confirm_waitlist", title=meeting.title)
    who = text("signup_for", name=data["proxy"]) if data.get("proxy") else ""
    return text("confirm_signup", title=meeting.title, who=who,
                when_where=meetings.when_where(ctx.config, meeting))


def step_confirm(ctx: Context, msg: Incoming) -> Reply:
    """1 signs up (or joins the waitlist); 2 drops it."""
    answer = normalise(msg.text or "")
    data = ctx.conversation.data
    if answer == "2":
        ctx.conversation.clear()
        return ctx.reply("signup_dropped")
    if answer != "1":
        return Reply(text("reply_one_or_two") + "\n" + ask_confirm(ctx))
    try:
        signup = meetings.sign_up(ctx.session, ctx.config, data["meeting"], ctx.resident, ctx.now,
                                  proxy_name=data.get("proxy"), waitlist=data.get("waitlist", False))
    except meetings.MeetingError as exc:
        if exc.key == "signup_full":  # the last seat went while this resident was deciding
            ctx.conversation.goto(CONFIRM, waitlist=True)
            return Reply(ask_confirm(ctx))
        ctx.conversation.clear()
        return Reply(str(exc))
    ctx.conversation.clear()
    meeting = ctx.session.get(Meeting, data["meeting"])
    if signup.status is SignupStatus.WAITLISTED:
        return ctx.reply("signup_waitlisted", position=_position(ctx, signup))
    return ctx.reply("signup_done", title=meeting.title, code=signup.checkin_code,
                     when_where=meetings.when_where(ctx.config, meeting),
                     qr=meetings.qr_url(ctx.config, meeting.id, signup.checkin_code))


def _position(ctx: Context, signup: Signup) -> int:
    return ctx.session.scalar(select(func.count()).select_from(Signup).where(
        Signup.meeting_id == signup.meeting_id, Signup.status == SignupStatus.WAITLISTED,
        Signup.id <= signup.id)) or 1


router.flow(Flow("meetings", "flow_meetings", {BROWSE: step_browse},
                 {BROWSE: lambda ctx: text("meetings_more")}))
router.flow(Flow("signup", "flow_signup", {CONFIRM: step_confirm}, {CONFIRM: ask_confirm}))


@router.keyword("取消报名", args=True)
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
    meetings.cancel_signup(ctx.session, ctx.config, signup, ctx.now)
    return ctx.reply("cancel_signup_done", title=meeting.title)


@router.menu("MY_SIGNUPS", "menu_my_signups", order=40, group="menu_group_meetings")
def my_signups(ctx: Context, msg: Incoming) -> Reply:
    """The resident's sign-ups for meetings still to come, with codes or waitlist places."""
    rows = ctx.session.execute(select(Signup, Meeting).join(Meeting).where(
        Signup.resident_id == ctx.resident.id, Signup.status != SignupStatus.CANCELLED,
        Meeting.ends_at > ctx.now).order_by(Meeting.starts_at)).all()
    if not rows:
        return ctx.reply("my_signups_empty")
    lines = []
    for signup, meeting in rows:
        extra = text("my_signup_code", code=signup.checkin_code) \
            if signup.status is SignupStatus.CONFIRMED else \
            text("my_signup_position", position=_position(ctx, signup))
        title = meeting.title + (text("signup_for", name=signup.proxy_name) if signup.proxy_name else "")
        if meeting.status is MeetingStatus.CANCELLED:
            extra = "｜" + text("status_cancelled_meeting")
        lines.append(text("my_signup_line", title=title, when=meetings.local(ctx.config, meeting.starts_at),
                          status=text(f"signup_status_{signup.status.value}"), extra=extra))
    return ctx.reply("my_signups", items="\n".join(lines))


@router.keyword("我的报名", "我的活动")
def my_signups_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return my_signups(ctx, msg)


@router.keyword("签到", args=True)
def check_in(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Staff check a person in by code at a meeting of their community happening now."""
    if not ctx.resident.has_role(Role.STAFF, Role.ADMIN):
        return ctx.reply("not_allowed")
    code = args.split()[0] if args.split() else ""
    if not code:
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
            signup = meeting_admin.check_in(ctx.session, meeting, code, ctx.now)
        except meetings.MeetingError as exc:
            last = exc if last is None or exc.key != "checkin_other_meeting" else last
            continue
        name = signup.proxy_name or (signup.resident_id and text("actor_resident")) or ""
        return ctx.reply("checkin_done", name=f"{meeting.title} {name}")
    return Reply(str(last))
