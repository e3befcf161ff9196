"""The time bank account by chat: 我的时间, 兑换, 转赠, 捐赠, 排行榜 / 不上榜.

Conversation `redeem`: CONFIRM (1 holds the hours, 2 drops it); after it, a second
tap on 1 is answered by the `log` flow's DONE step, never booked again.
"""
from __future__ import annotations

from sqlalchemy import func, select

from bot import timebank as tb
from bot.context import Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming, normalise
from bot.router import Router
from bot.texts import text
from bot.timebank_input import parse_duration
from handlers.registration import MOBILE_RE
from handlers.volunteering import CONFIRM_WORDS, registered_first, resident_by_mobile
from models import Account, Community, LedgerEntry, RecordStatus, Resident, ServiceRecord

router = Router()


# --- balance, redemption, transfers --------------------------------------------------------

@router.menu("MY_TIME", "menu_my_time", order=50, group="menu_group_mine")
def my_time(ctx: Context, msg: Incoming) -> Reply:
    """Balance, hours this month and year, the last 5 entries, pending records."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    account = tb.account_of(ctx.session, ctx.resident)
    local_now = ctx.now.astimezone(ctx.config.tz)
    month_start = local_now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year_start = month_start.replace(month=1)

    def earned(since) -> int:
        return ctx.session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
            LedgerEntry.account_id == account.id, LedgerEntry.kind == "earn",
            LedgerEntry.created_at >= since)) or 0

    last = ctx.session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == account.id)
                               .order_by(LedgerEntry.id.desc()).limit(5)).all()
    entries = "\n".join(text("tb_entry_line", date=e.created_at.astimezone(ctx.config.tz).strftime("%m-%d"),
                             kind=text(f"tb_kind_{e.kind.value}"), sign="+" if e.minutes > 0 else "-",
                             hours=tb.hours(abs(e.minutes))) for e in last) or text("tb_no_entries")
    pending = ctx.session.execute(select(func.count(), func.coalesce(func.sum(ServiceRecord.minutes), 0))
                                  .where(ServiceRecord.volunteer_id == ctx.resident.id,
                                         ServiceRecord.status == RecordStatus.PENDING)).one()
    pending_text = text("tb_pending_line", n=pending[0], hours=tb.hours(pending[1])) if pending[0] else ""
    return ctx.reply("tb_my_time", balance=tb.hours(account.balance), month=tb.hours(earned(month_start)),
                     year=tb.hours(earned(year_start)), entries=entries, pending=pending_text)


@router.keyword("我的时间", "时间账户", "时间银行", "我的時間")
def my_time_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return my_time(ctx, msg)


def _catalogue(ctx: Context) -> list[dict]:
    name = ctx.session.scalar(select(Community.name).where(Community.id == ctx.resident.community_id))
    return tb.catalogue(ctx.config, name or "")


@router.keyword("兑换", args=True)
def redeem(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Without a number: the catalogue; with one: asks to confirm the hold."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    items = _catalogue(ctx)
    if not items:
        return ctx.reply("tb_catalogue_empty")
    number = (args.split() or [""])[0]
    if not number:
        name = ctx.session.scalar(select(Community.name).where(Community.id == ctx.resident.community_id))
        lines = "\n".join(text("tb_catalogue_line", n=n, name=i["name"], hours=i["hours"])
                          for n, i in enumerate(items, 1))
        return ctx.reply("tb_catalogue", community=name, items=lines)
    if not number.isdigit() or not 1 <= int(number) <= len(items):
        return ctx.reply("tb_redeem_bad_number", n=number[:6])
    item = items[int(number) - 1]
    ctx.conversation.start("redeem", "confirm", item=item)
    return ctx.reply("tb_confirm_redeem", hours=item["hours"], name=item["name"])


def step_redeem_confirm(ctx: Context, msg: Incoming) -> Reply:
    answer = normalise(msg.text or "")
    item = ctx.conversation.data["item"]
    if answer == "2":
        ctx.conversation.clear()
        return ctx.reply("signup_dropped")
    if answer not in CONFIRM_WORDS:
        return ctx.reply("tb_confirm_redeem", hours=item["hours"], name=item["name"])
    try:
        redemption = tb.request_redemption(ctx.session, ctx.resident, item, ctx.now)
    except tb.TimebankError as exc:
        ctx.conversation.clear()
        return Reply(str(exc))
    ctx.conversation.start("log", "done", code=f"R{redemption.id}")
    return ctx.reply("tb_redeem_requested", name=item["name"], hours=item["hours"], id=redemption.id)


router.flow(Flow("redeem", "flow_redeem", {"confirm": step_redeem_confirm},
                 {"confirm": lambda c: text("tb_confirm_redeem",
                                            hours=c.conversation.data["item"]["hours"],
                                            name=c.conversation.data["item"]["name"])}))


def _amount(raw: str, ctx: Context) -> int:
    return parse_duration(raw, ctx.config, daily_limit=False)


@router.keyword("转赠", args=True)
def transfer(ctx: Context, msg: Incoming, args: str) -> Reply:
    """转赠 <mobile> <hours>: to a family member registered in the same community."""
    parts = args.split()
    if len(parts) != 2 or not MOBILE_RE.match(parts[0]):
        return ctx.reply("tb_ask_transfer")
    receiver = resident_by_mobile(ctx, parts[0])
    if receiver is None:
        return ctx.reply("tb_transfer_unknown", mobile=f"{parts[0][:3]}****{parts[0][-4:]}")
    try:
        minutes = _amount(parts[1], ctx)
        tb.transfer(ctx.session, ctx.config, ctx.resident, receiver, minutes, ctx.now)
    except tb.TimebankError as exc:
        return Reply(str(exc))
    return ctx.reply("tb_transferred", hours=tb.hours(minutes))


@router.keyword("捐赠", args=True)
def donate(ctx: Context, msg: Incoming, args: str) -> Reply:
    """捐赠 <hours>: to the community pool (公益池) for elders in need."""
    parts = args.split()
    if len(parts) != 1:
        return ctx.reply("tb_ask_donate")
    try:
        minutes = _amount(parts[0], ctx)
        tb.donate(ctx.session, ctx.resident, minutes, ctx.now)
    except tb.TimebankError as exc:
        return Reply(str(exc))
    return ctx.reply("tb_donated", hours=tb.hours(minutes))


@router.keyword("排行榜", "光荣榜")
def leaderboard(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """This month's top 10 in the community; people who opted out are left off."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    start = ctx.now.astimezone(ctx.config.tz).replace(day=1, hour=0, minute=0, second=0,
                                                      microsecond=0)
    rows = ctx.session.execute(
        select(Resident.name, Resident.id, func.sum(LedgerEntry.minutes).label("m"))
        .join(Account, Account.owner_id == Resident.id)
        .join(LedgerEntry, LedgerEntry.account_id == Account.id)
        .where(Account.community_id == ctx.resident.community_id,
               Account.leaderboard_opt_out.is_(False), LedgerEntry.kind == "earn",
               LedgerEntry.created_at >= start)
        .group_by(Resident.id, Resident.name).order_by(func.sum(LedgerEntry.minutes).desc())
        .limit(10)).all()
    name = ctx.session.scalar(select(Community.name).where(Community.id == ctx.resident.community_id))
    if not rows:
        return ctx.reply("tb_leaderboard_empty")
    items = "\n".join(text("tb_leader_line", n=n, name=r.name or f"志愿者{r.id}", hours=tb.hours(r.m))
                      for n, r in enumerate(rows, 1))
    return ctx.reply("tb_leaderboard", community=name, items=items)


@router.keyword("不上榜", "上榜")
def leaderboard_opt(ctx: Context, msg: Incoming, _args: str) -> Reply:
    account = tb.account_of(ctx.session, ctx.resident)
    account.leaderboard_opt_out = msg.normalised.startswith("不")
    return ctx.reply("tb_opted_out" if account.leaderboard_opt_out else "tb_opted_in")

