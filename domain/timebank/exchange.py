"""Spending and moving hours: redemptions, donations, grants and staff adjustments
(transfers to family members are in family.py)."""
from __future__ import annotations

from sqlalchemy import func, select

from core.db import ROW_LOCK
from core.outbox import message
from core.texts import text
from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.timebank.ledger import MAX_MINUTES, account_of, hours, lock, pool_of, post
from domain.unit import Unit, use_case
from models import (
    Account,
    Community,
    EntryKind,
    LedgerEntry,
    Redemption,
    RedemptionStatus,
    Resident,
)


def catalogue(uow: Unit, resident: Resident) -> tuple[str, list]:
    """(community name, the services its hours buy)."""
    name = uow.session.scalar(select(Community.name).where(Community.id == resident.community_id)) or ""
    return name, uow.config.timebank.catalogue_for(name)


@use_case
def request_redemption(uow: Unit, resident: Resident, number: int) -> Redemption:
    """Hold the hours of catalogue item `number` at once; staff fulfil or cancel later."""
    _, items = catalogue(uow, resident)
    if not 1 <= number <= len(items):
        raise Refused("tb_redeem_bad_number", n=number)
    item = items[number - 1]
    account = account_of(uow, resident)
    minutes = int(round(item.hours * 60))
    current = lock(uow, account.id)[account.id]
    if current.balance < minutes:
        raise Refused("tb_insufficient", balance=hours(current.balance))
    redemption = Redemption(account_id=account.id, community_id=resident.community_id,
                            service_code=item.code, service_name=item.name, minutes=minutes,
                            status=RedemptionStatus.HELD, created_at=uow.now)
    uow.session.add(redemption)
    uow.session.flush()
    post(uow, account.id, -minutes, EntryKind.HOLD, source=f"redemption:{redemption.id}",
         actor="resident")
    return redemption


@use_case
def settle_redemption(uow: Unit, actor: Actor, redemption: Redemption, fulfil: bool) -> None:
    """Fulfil (the hold becomes the debit) or cancel (the hold is released)."""
    if not actor.is_staff_of(redemption.community_id):
        raise Refused("not_allowed")
    redemption = uow.session.get(Redemption, redemption.id, with_for_update=ROW_LOCK,
                                 populate_existing=True)
    if redemption.status is not RedemptionStatus.HELD:
        raise Refused("tb_redemption_done")
    source = f"redemption:{redemption.id}"
    post(uow, redemption.account_id, redemption.minutes, EntryKind.RELEASE, source=source,
         actor=actor.label)
    if fulfil:
        post(uow, redemption.account_id, -redemption.minutes, EntryKind.REDEEM, source=source,
             actor=actor.label)
    redemption.status = RedemptionStatus.FULFILLED if fulfil else RedemptionStatus.CANCELLED
    redemption.decided_by, redemption.decided_at = actor.label[:64], uow.now
    owner = uow.session.scalar(select(Account.owner_id).where(Account.id == redemption.account_id))
    if owner is not None:
        uow.push(owner, "timebank_account", message(text(
            "tb_redemption_fulfilled" if fulfil else "tb_redemption_cancelled",
            name=redemption.service_name), {
                "item": text("notice_redeemed" if fulfil else "notice_redeem_cancelled"),
                "note": redemption.service_name, "time": uow.now}),
            f"redemption:{redemption.id}:{redemption.status.value}")
    audit.record(uow, actor, "redemption_fulfil" if fulfil else "redemption_cancel",
                 f"redemption:{redemption.id}", {"status": "held"},
                 {"status": redemption.status.value})


@use_case
def donate(uow: Unit, giver: Resident, minutes: int) -> None:
    """To the community pool (公益池) for elders in need."""
    if not 0 < minutes <= MAX_MINUTES:
        raise Refused("tb_amount_too_large", limit=hours(MAX_MINUTES))
    mine, pool = account_of(uow, giver), pool_of(uow, giver.community_id)
    lock(uow, mine.id, pool.id)
    source = f"donation:{giver.id}:{uow.now:%Y%m%d%H%M%S%f}"
    post(uow, mine.id, -minutes, EntryKind.DONATION, source=source, actor="resident")
    post(uow, pool.id, minutes, EntryKind.DONATION, source=source, actor="resident")


@use_case
def grant(uow: Unit, actor: Actor, elder: Resident, minutes: int) -> None:
    """Hours from the community pool to an elder in need."""
    if not actor.is_staff_of(elder.community_id):
        raise Refused("not_allowed")
    if not 0 < minutes <= MAX_MINUTES:
        raise Refused("tb_amount_too_large", limit=hours(MAX_MINUTES))
    pool, theirs = pool_of(uow, elder.community_id), account_of(uow, elder)
    lock(uow, pool.id, theirs.id)
    source = f"grant:{elder.id}:{uow.now:%Y%m%d%H%M%S%f}"
    post(uow, pool.id, -minutes, EntryKind.GRANT, source=source, actor=actor.label)
    post(uow, theirs.id, minutes, EntryKind.GRANT, source=source, actor=actor.label)
    audit.record(uow, actor, "timebank_grant", f"resident:{elder.id}", None, {"minutes": minutes})


@use_case
def adjust(uow: Unit, actor: Actor, account: Account, minutes: int, reason: str) -> int:
    """A staff correction (+/-) with its mandatory reason; returns the balance before.
    Bounded like everything else: never below zero, never above the cap."""
    if not actor.is_staff_of(account.community_id) or account.owner_id is None:
        raise Refused("not_allowed")
    if not reason.strip():
        raise Refused("tb_ask_adjust")
    if minutes == 0 or abs(minutes) > uow.config.timebank.cap_minutes:
        raise Refused("tb_amount_too_large", limit=f"{uow.config.timebank.balance_cap_hours:g}")
    before = lock(uow, account.id)[account.id].balance
    post(uow, account.id, minutes, EntryKind.ADJUST, source=f"adjust:{actor.label}",
         actor=actor.label, note=reason.strip()[:200])
    audit.record(uow, actor, "timebank_adjust", f"account:{account.id}", {"balance": before},
                 {"balance": before + minutes}, reason.strip()[:200])
    return before


@use_case
def set_leaderboard(uow: Unit, resident: Resident, shown: bool) -> None:
    account_of(uow, resident).leaderboard_opt_out = not shown


def leaderboard(uow: Unit, resident: Resident, since) -> list:
    """This month's top 10 of the community; people who opted out are left off."""
    return uow.session.execute(
        select(Resident.name, Resident.id, func.sum(LedgerEntry.minutes).label("m"))
        .join(Account, Account.owner_id == Resident.id)
        .join(LedgerEntry, LedgerEntry.account_id == Account.id)
        .where(Account.community_id == resident.community_id,
               Account.leaderboard_opt_out.is_(False), LedgerEntry.kind == EntryKind.EARN,
               LedgerEntry.created_at >= since)
        .group_by(Resident.id, Resident.name).order_by(func.sum(LedgerEntry.minutes).desc())
        .limit(10)).all()
