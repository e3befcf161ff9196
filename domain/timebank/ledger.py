"""The time-bank ledger: accounts, and the one function that moves minutes.

All movements go through `post`, which holds the account's row lock, refuses
to go below zero or above the cap (CHECK constraints back both up), appends the
entry and updates the cached balance in the same transaction — so the cache
always equals the sum of the entries. Several accounts are always locked in id
order, so two opposite transfers wait for each other instead of deadlocking.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from core.db import ROW_LOCK, insert_ignore, read
from core.outbox import message
from core.texts import text
from domain.errors import Refused
from domain.unit import Unit
from models import (
    Account,
    EntryKind,
    LedgerEntry,
    RecordStatus,
    Resident,
    ServiceRecord,
    Transfer,
    TransferStatus,
)

# Far above any real balance, far below the integer column's limit.
MAX_MINUTES = 10_000 * 60
CREDITS = (EntryKind.EARN, EntryKind.TRANSFER_IN, EntryKind.GRANT)


def hours(minutes: int) -> str:
    return f"{minutes / 60:g}"


def kind_key(entry: LedgerEntry) -> str:
    """How an entry is named to people: a hold for a transfer is not a redemption's."""
    if entry.kind in (EntryKind.HOLD, EntryKind.RELEASE) and entry.source.startswith("transfer:"):
        return f"{entry.kind.value}_transfer"
    return entry.kind.value


def _account_row(session: Session, community_id: int, owner_id: int | None, now: datetime) -> Account:
    query = select(Account).where(Account.community_id == community_id,
                                  Account.owner_id.is_(None) if owner_id is None
                                  else Account.owner_id == owner_id)
    account = session.scalar(query)
    if account is None:
        insert_ignore(session, Account.__table__, {
            "owner_id": owner_id, "community_id": community_id, "balance": 0, "earned_total": 0,
            "leaderboard_opt_out": False, "created_at": now},
            *((["owner_id"], None) if owner_id is not None else (["community_id"], "owner_id IS NULL")))
        account = session.scalar(query)
    return account


def account_of(uow: Unit, resident: Resident) -> Account:
    return _account_row(uow.session, resident.community_id, resident.id, uow.now)


def pool_of(uow: Unit, community_id: int) -> Account:
    return _account_row(uow.session, community_id, None, uow.now)


def lock(uow: Unit, *account_ids: int) -> dict[int, Account]:
    """Row-lock the accounts in id order (the order every writer uses) and reload them."""
    return {account_id: uow.session.get(Account, account_id, with_for_update=ROW_LOCK,
                                        populate_existing=True)
            for account_id in sorted(set(account_ids))}


def post(uow: Unit, account_id: int, minutes: int, kind: EntryKind, *, source: str, actor: str,
         note: str | None = None) -> LedgerEntry:
    """Append one entry under the account's row lock; never below zero, never above the cap
    (the pool has no cap)."""
    if not -MAX_MINUTES <= minutes <= MAX_MINUTES:
        raise Refused("tb_amount_too_large", limit=hours(MAX_MINUTES))
    account = lock(uow, account_id)[account_id]
    if account.balance + minutes < 0:
        raise Refused("tb_insufficient", balance=hours(account.balance))
    cap = uow.config.timebank.cap_minutes
    if account.owner_id is not None and minutes > 0 and account.balance + minutes > cap:
        raise Refused("tb_over_cap", cap=uow.config.timebank.balance_cap_hours,
                      balance=hours(account.balance))
    entry = LedgerEntry(account_id=account.id, kind=kind, minutes=minutes, source=source[:64],
                        note=note and note[:200], actor=actor[:64], created_at=uow.now)
    uow.session.add(entry)
    account.balance += minutes
    if kind is EntryKind.EARN:
        account.earned_total += minutes
    uow.session.flush()
    return entry


@dataclass(frozen=True)
class Summary:
    """What 我的时间 shows of a person's hours, read in one statement."""

    account_id: int | None  # None: no account yet (looking creates none)
    balance: int
    month: int  # minutes earned since the month began
    year: int
    pending: int  # their own service records waiting for staff, and their minutes
    pending_minutes: int
    asked: int  # records others logged for them, waiting for their 确认
    offers: int  # transfers from family waiting for their 接受


def _summary_statement():
    rid = bindparam("rid")
    owned = (Account.community_id == bindparam("cid"), Account.owner_id == rid)

    def earned(since: str):
        return (select(func.coalesce(func.sum(LedgerEntry.minutes), 0))
                .join(Account, LedgerEntry.account_id == Account.id)
                .where(*owned, LedgerEntry.kind == EntryKind.EARN,
                       LedgerEntry.created_at >= bindparam(since)))

    own_pending = (ServiceRecord.volunteer_id == rid, ServiceRecord.status == RecordStatus.PENDING)
    return select(*(query.scalar_subquery() for query in (
        select(Account.id).where(*owned),
        select(Account.balance).where(*owned),
        earned("month"), earned("year"),
        select(func.count()).where(*own_pending),
        select(func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(*own_pending),
        select(func.count()).where(ServiceRecord.beneficiary_id == rid,
                                   ServiceRecord.status == RecordStatus.PENDING,
                                   ServiceRecord.confirmed_at.is_(None)),
        select(func.count()).where(Transfer.receiver_id == rid, Transfer.status == TransferStatus.PENDING))))


# Built once: building it costs twice what running it does.
_SUMMARY = _summary_statement()


def summary(uow: Unit, resident: Resident, month_start: datetime, year_start: datetime) -> Summary:
    """The person's balance, earnings this month and year, and what waits on whom, in one
    statement of scalar subqueries (it was four to six ORM queries, each costing more
    than this one)."""
    account_id, balance, *counts = read(uow.session, _SUMMARY, {
        "rid": resident.id, "cid": resident.community_id, "month": month_start, "year": year_start})[0]
    return Summary(account_id, balance or 0, *(int(n or 0) for n in counts))


def statement(uow: Unit, account: Account, since: datetime, until: datetime) -> dict:
    """Minutes in and out between two moments, and the balance now."""
    rows = uow.session.execute(select(LedgerEntry.kind, func.sum(LedgerEntry.minutes)).where(
        LedgerEntry.account_id == account.id, LedgerEntry.created_at >= since,
        LedgerEntry.created_at < until).group_by(LedgerEntry.kind)).all()
    by_kind = {kind.value: int(total) for kind, total in rows}
    return {"earned": by_kind.get("earn", 0), "spent": -by_kind.get("redeem", 0),
            "balance": account.balance}


def expire(uow: Unit, account: Account) -> int:
    """Expire minutes credited more than `timebank.expiry_months` ago and not spent since
    (oldest hours are spent first). 0 months, the default, means hours never expire."""
    months = uow.config.timebank.expiry_months
    if months <= 0 or account.owner_id is None:
        return 0
    now = uow.now
    cutoff = now - timedelta(days=30 * months)

    def total(*where) -> int:
        return uow.session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
            LedgerEntry.account_id == account.id, *where)) or 0

    # Everything that ever left the account counts against the oldest credits first.
    unspent_old = (total(LedgerEntry.kind.in_(CREDITS), LedgerEntry.created_at < cutoff)
                   + total(LedgerEntry.minutes < 0) + total(LedgerEntry.kind == EntryKind.RELEASE))
    current = lock(uow, account.id)[account.id]
    minutes = min(unspent_old, current.balance)
    if minutes <= 0:
        return 0
    post(uow, account.id, -minutes, EntryKind.EXPIRY, source=f"expiry:{now:%Y%m}", actor="system",
         note=f"credited before {cutoff:%Y-%m-%d}")
    uow.push(account.owner_id, "timebank_account", message(text(
        "tb_expired", hours=hours(minutes), months=months), {
            "item": text("notice_expired"), "note": text("notice_hours", hours=hours(minutes)),
            "time": now}), f"expiry:{now:%Y%m}:{account.id}")
    return minutes
