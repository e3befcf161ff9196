"""The time bank account by chat: 我的时间, 兑换, 家人 / 转赠 / 接受 / 退回, 捐赠, 排行榜 / 不上榜.

Conversation `redeem`: PICK (a number from the catalogue just shown; anything else is
handled afresh), CONFIRM (1 holds the hours, 2 drops it), then DONE, where a second tap
on 1 is answered and never booked again.
"""
from __future__ import annotations

import enum

from sqlalchemy import select

from bot.context import AGAIN, Context, Reply
from bot.conversation import Flow, done, reask, start
from bot.inbound import Incoming
from bot.router import Router
from bot.understanding import yes_or_no
from core.numbers import record_id, to_int
from core.texts import text, vocab
from core.words import normalise
from domain import residents
from domain.errors import Refused
from domain.people import mask_name, person_name
from domain.timebank import exchange, family
from domain.timebank.input import parse_duration
from domain.timebank.ledger import account_of, hours, kind_key, summary
from domain.timebank.records import is_volunteer
from handlers.registration import registered_first
from models import (
    LedgerEntry,
    LinkStatus,
    Redemption,
    RedemptionStatus,
    Resident,
    Transfer,
)

router = Router("timebank")


class RedeemStep(enum.StrEnum):
    PICK = "pick"
    CONFIRM = "confirm"
    DONE = "done"


def _month_start(ctx: Context):
    return ctx.now.astimezone(ctx.config.tz).replace(day=1, hour=0, minute=0, second=0,
                                                     microsecond=0)


@router.intent("my_hours")
@router.menu("MY_TIME", "menu_my_time", order=50, group="menu_group_mine")
def my_time(ctx: Context, msg: Incoming) -> Reply:
    """Balance, hours this month and year, the last 5 entries, pending records."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    month_start = _month_start(ctx)
    mine = summary(ctx.uow, ctx.resident, month_start, month_start.replace(month=1))
    last = ctx.session.scalars(select(LedgerEntry).where(LedgerEntry.account_id == mine.account_id)
                               .order_by(LedgerEntry.id.desc()).limit(5)).all() if mine.account_id else []
    entries = "\n".join(text("tb_entry_line", date=e.created_at.astimezone(ctx.config.tz).strftime("%m-%d"),
                             kind=text(f"tb_kind_{kind_key(e)}"), sign="+" if e.minutes > 0 else "-",
                             hours=hours(abs(e.minutes))) for e in last) or text("tb_no_entries")
    pending_text = (text("tb_pending_line", n=mine.pending, hours=hours(mine.pending_minutes))
                    if mine.pending else "")
    pending_text += text("tb_asked_line", n=mine.asked) if mine.asked else ""
    held = ctx.session.scalars(select(Redemption).where(
        Redemption.account_id == mine.account_id,
        Redemption.status == RedemptionStatus.HELD)).all() if mine.account_id else []
    pending_text += text("tb_held_line", items="、".join(f"{r.service_name}（R{r.id}）" for r in held)) if held else ""
    pending_text += text("tb_offers_line", n=mine.offers) if mine.offers else ""
    return ctx.reply("tb_my_time", balance=hours(mine.balance), month=hours(mine.month),
                     year=hours(mine.year), entries=entries, pending=pending_text)


@router.keyword("时间账户", "时间银行")
def my_time_keyword(ctx: Context, msg: Incoming, _args: str) -> Reply:
    return my_time(ctx, msg)


@router.keyword("兑换", args=r"([0-9]{1,3}|[一二两三四五六七八九十]{1,3})")
def redeem(ctx: Context, msg: Incoming, args: str) -> Reply:
    """Without a number: the catalogue, a number picks from it; with one: asks to confirm."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    community, items = exchange.catalogue(ctx.uow, ctx.resident)
    if not items:
        return ctx.reply("tb_catalogue_empty")
    if not args:
        lines = "\n".join(text("tb_catalogue_line", n=n, name=i.name, hours=f"{i.hours:g}")
                          for n, i in enumerate(items, 1))
        return start(ctx, "redeem", RedeemStep.PICK, community=community, items=lines)
    return _picked(ctx, args, items)


def _picked(ctx: Context, words: str, items) -> Reply:
    """Item `words` of the catalogue: the hold to confirm, or why it cannot be (checked
    before asking, so nobody confirms what their balance cannot pay)."""
    number = to_int(words, max_value=999)
    if number is None or not 1 <= number <= len(items):
        return done(ctx, "tb_redeem_bad_number", n=words[:6])
    item = items[number - 1]
    balance = account_of(ctx.uow, ctx.resident).balance
    if balance < int(round(item.hours * 60)):
        return done(ctx, "tb_insufficient_for", name=item.name, need=f"{item.hours:g}", balance=hours(balance),
                    next=text("tb_earn_hint" if is_volunteer(ctx.resident) else "tb_family_hint"))
    return start(ctx, "redeem", RedeemStep.CONFIRM, number=number, name=item.name, hours=f"{item.hours:g}")


@router.intent("redeem")
def redeem_asked(ctx: Context, msg: Incoming) -> Reply:
    """Words about using hours ("时间可以换什么"): the catalogue."""
    return redeem(ctx, msg, "")


def _another_command(ctx: Context, msg: Incoming) -> bool:
    """A command typed at a redeem step (兑换 2, 我的时间): nothing is held yet, so it is
    simply done afresh."""
    return ctx.router.match(msg.normalised, lambda: ctx.works) is not None


def step_redeem_pick(ctx: Context, msg: Incoming):
    if to_int(msg.normalised, max_value=999) is None:
        return AGAIN
    return _picked(ctx, msg.normalised, exchange.catalogue(ctx.uow, ctx.resident)[1])


def step_redeem_confirm(ctx: Context, msg: Incoming) -> Reply:
    answer = yes_or_no(msg.text)
    data = ctx.conversation.data
    if answer is False:
        return done(ctx, "tb_redeem_dropped")
    if answer is not True:
        return AGAIN if _another_command(ctx, msg) else reask(ctx, "reply_one_or_two")
    try:
        redemption = exchange.request_redemption(ctx.uow, ctx.resident, data["number"])
    except Refused as refusal:
        return done(ctx, refusal.key, **refusal.values)
    ctx.conversation.goto(RedeemStep.DONE, code=f"R{redemption.id}")
    return ctx.reply("tb_redeem_requested", name=data["name"], hours=data["hours"], id=redemption.id)


def step_redeem_done(ctx: Context, msg: Incoming):
    if normalise(msg.text or "") in vocab.CONFIRM:
        return ctx.reply("already_submitted", code=ctx.conversation.data.get("code"))
    return AGAIN


router.flow(Flow("redeem", "flow_redeem", RedeemStep,
                 {RedeemStep.PICK: step_redeem_pick, RedeemStep.CONFIRM: step_redeem_confirm,
                  RedeemStep.DONE: step_redeem_done},
                 {RedeemStep.PICK: lambda c: text("tb_catalogue", community=c.conversation.data["community"],
                                                  items=c.conversation.data["items"]),
                  RedeemStep.CONFIRM: lambda c: text("tb_confirm_redeem", hours=c.conversation.data["hours"],
                                                     name=c.conversation.data["name"]),
                  RedeemStep.DONE: lambda c: text("tb_done_prompt", code=c.conversation.data.get("code", ""))},
                 finished=frozenset({RedeemStep.PICK, RedeemStep.DONE})))


@router.keyword("转赠", args=r"\S{1,16}\s+\S{1,12}")
def transfer(ctx: Context, msg: Incoming, args: str) -> Reply:
    """转赠 <mobile, name or relation> <hours>: offered to a family member staff confirmed;
    held until they accept."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    if not args:
        return ctx.reply("tb_ask_transfer")
    who, amount = args.split()
    if residents.MOBILE_RE.match(who):
        receiver = residents.by_mobile(ctx.uow, who, ctx.resident.community_id)
        if receiver is None:
            return ctx.reply("tb_transfer_unknown", mobile=f"{who[:3]}****{who[-4:]}")
    elif (receiver := _family_named(ctx, who)) is None:
        return ctx.reply("tb_family_not_named", who=who[:16])
    try:
        minutes = parse_duration(amount, ctx.config, daily_limit=False)
        offered = family.offer(ctx.uow, ctx.resident, receiver, minutes)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("tb_transferred", hours=hours(minutes), name=person_name(receiver),
                     days=ctx.config.timebank.transfer_accept_days, id=offered.id)


def _confirmed_family(ctx: Context) -> list[tuple]:
    return [(link, relative) for link, relative in family.links_of(ctx.uow, ctx.resident)
            if link.status is LinkStatus.CONFIRMED]


def _family_named(ctx: Context, who: str) -> Resident | None:
    """A confirmed family member by name or relation: 李婆婆, 母亲, 我妈."""
    said = who.removeprefix("我的").removeprefix("我")
    for link, relative in _confirmed_family(ctx):
        if said in (relative.name, link.relation) or vocab.KIN.get(said, "") == link.relation:
            return relative
    return None


@router.intent("give_family")
def give_family_asked(ctx: Context, msg: Incoming) -> Reply:
    """"时间怎么转给我妈": who can receive, and the words to type."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    kin = _confirmed_family(ctx)
    if not kin:
        return ctx.reply("tb_family_none")
    names = "、".join(_named(link, relative) for link, relative in kin)
    return ctx.reply("tb_give_family_how", names=names, example=person_name(kin[0][1]))


def _named(link, relative: Resident) -> str:
    return f"{person_name(relative)}（{link.relation}）" if link.relation else person_name(relative)


@router.keyword("家人", "我的家人", args=r"1[3-9]\d{9}(\s+\S{1,8})?")
def family_members(ctx: Context, msg: Incoming, args: str) -> Reply:
    """家人 <mobile> [relation]: declare a family member (staff confirm); alone: the list."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    if not args:
        links = family.links_of(ctx.uow, ctx.resident)
        if not links:
            return ctx.reply("tb_family_none")
        lines = "\n".join(text("tb_family_line", name=_named(link, relative), mobile=relative.masked_mobile or "",
                               status=text(f"tb_family_{link.status.value}_status"))
                          for link, relative in links)
        return ctx.reply("tb_family_list", items=lines, example=person_name(links[0][1]))
    mobile, _, relation = args.partition(" ")
    relative = residents.by_mobile(ctx.uow, mobile, ctx.resident.community_id)
    if relative is None:
        return ctx.reply("tb_family_unknown", mobile=f"{mobile[:3]}****{mobile[-4:]}")
    try:
        family.declare(ctx.uow, ctx.resident, relative, relation.strip() or None)
    except Refused as refusal:
        return Reply(refusal.message)
    # Only masked: a mobile number typed must not tell a stranger's name.
    return ctx.reply("tb_family_declared", name=f"{mask_name(person_name(relative))}（{relative.masked_mobile}）")


def _offer(ctx: Context, args: str):
    """The offer named in `args`; with no code, the only one waiting (else a reply)."""
    if not args:
        waiting = family.waiting_for(ctx.uow, ctx.resident)
        if len(waiting) == 1:
            return waiting[0]
        if not waiting:
            return ctx.reply("tb_transfer_nothing")
        names = {r.id: person_name(r) for r in ctx.session.scalars(select(Resident).where(
            Resident.id.in_([t.giver_id for t in waiting])))}
        lines = "\n".join(text("tb_transfer_line", id=t.id, name=names[t.giver_id], hours=hours(t.minutes))
                          for t in waiting)
        return ctx.reply("tb_transfer_list", items=lines)
    number = record_id(args, "Z")
    found = ctx.session.get(Transfer, number) if number else None
    return found or ctx.reply("tb_transfer_unknown_code", code=args[:12])


def _settle(ctx: Context, args: str, use_case, key: str) -> Reply:
    if (needs := registered_first(ctx)) is not None:
        return needs
    offer = _offer(ctx, args)
    if isinstance(offer, Reply):
        return offer
    try:
        settled = use_case(ctx.uow, ctx.resident, offer)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply(key, hours=hours(settled.minutes))


@router.keyword("接受", "收下", args=r"[Zz]\d{1,9}")
def accept_transfer(ctx: Context, msg: Incoming, args: str) -> Reply:
    """The family member takes the hours offered to them."""
    return _settle(ctx, args, family.accept, "tb_transfer_taken")


@router.keyword("退回", "不接受", args=r"[Zz]\d{1,9}")
def decline_transfer(ctx: Context, msg: Incoming, args: str) -> Reply:
    """The family member gives the hours back to the giver."""
    return _settle(ctx, args, family.decline, "tb_transfer_given_back")


@router.keyword("捐赠", args=r"\S{1,12}")
def donate(ctx: Context, msg: Incoming, args: str) -> Reply:
    """捐赠 <hours>: to the community pool (公益池) for elders in need."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    if not args:
        return ctx.reply("tb_ask_donate")
    try:
        minutes = parse_duration(args, ctx.config, daily_limit=False)
        exchange.donate(ctx.uow, ctx.resident, minutes)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("tb_donated", hours=hours(minutes))


@router.keyword("排行榜", "光荣榜")
def leaderboard(ctx: Context, msg: Incoming, _args: str) -> Reply:
    """This month's top 10 in the community; people who opted out are left off."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    rows = exchange.leaderboard(ctx.uow, ctx.resident, _month_start(ctx))
    if not rows:
        return ctx.reply("tb_leaderboard_empty")
    community, _ = exchange.catalogue(ctx.uow, ctx.resident)
    items = "\n".join(text("tb_leader_line", n=n, name=mask_name(r.name) or text("unnamed_volunteer", id=r.id),
                           hours=hours(r.m)) for n, r in enumerate(rows, 1))
    return ctx.reply("tb_leaderboard", community=community, items=items)


@router.keyword("不上榜")
def leaderboard_out(ctx: Context, msg: Incoming, _args: str) -> Reply:
    exchange.set_leaderboard(ctx.uow, ctx.resident, shown=False)
    return ctx.reply("tb_opted_out")


@router.keyword("上榜")
def leaderboard_in(ctx: Context, msg: Incoming, _args: str) -> Reply:
    exchange.set_leaderboard(ctx.uow, ctx.resident, shown=True)
    return ctx.reply("tb_opted_in")
