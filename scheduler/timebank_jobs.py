"""Time bank housekeeping: monthly statements on the 1st, reminders of pending records."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot import timebank as tb
from bot.db import transaction
from bot.outbox import enqueue, message
from bot.texts import text
from models import (Account, LedgerEntry, RecordStatus, Resident, ResidentRole, Role, ServiceRecord,
                    utcnow)

BATCH = 1000


def monthly_statements(rt, now: datetime | None = None) -> int:
    """Last month's statement to every account holder who has a balance or had activity.

    Works a batch of accounts at a time with one aggregate query per batch, so
    memory stays flat however many volunteers there are.
    """
    now = now or utcnow()
    local = now.astimezone(rt.config.tz)
    this_month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    label = f"{last_month:%Y年%m月}"
    sent, after = 0, 0
    while True:
        with transaction(rt.sessions) as session:
            accounts = session.execute(select(Account.id, Account.owner_id, Account.balance).where(
                Account.owner_id.is_not(None), Account.id > after).order_by(Account.id)
                .limit(BATCH)).all()
            if not accounts:
                return sent
            ids = [a.id for a in accounts]
            moves = {}
            for account_id, kind, total in session.execute(
                    select(LedgerEntry.account_id, LedgerEntry.kind, func.sum(LedgerEntry.minutes))
                    .where(LedgerEntry.account_id.in_(ids), LedgerEntry.created_at >= last_month,
                           LedgerEntry.created_at < this_month)
                    .group_by(LedgerEntry.account_id, LedgerEntry.kind)):
                moves.setdefault(account_id, {})[kind.value] = int(total)
            for account_id, owner_id, balance in accounts:
                mine = moves.get(account_id, {})
                if not mine and not balance:
                    continue
                enqueue(session, owner_id, "timebank_statement", message(text(
                    "tb_statement", month=label, earned=tb.hours(mine.get("earn", 0)),
                    spent=tb.hours(-mine.get("redeem", 0)), balance=tb.hours(balance))),
                    f"statement:{last_month:%Y%m}:{account_id}")
                sent += 1
            after = ids[-1]


def remind_pending(rt, now: datetime | None = None) -> int:
    """Records waiting longer than `timebank.reminder_after_days`: tell the community's staff
    (or the beneficiary asked to confirm), once per record."""
    now = now or utcnow()
    days = int(tb.cfg(rt.config, "reminder_after_days", 3))
    told = 0
    with transaction(rt.sessions) as session:
        stale = session.scalars(select(ServiceRecord).where(
            ServiceRecord.status == RecordStatus.PENDING, ServiceRecord.reminded_at.is_(None),
            ServiceRecord.created_at < now - timedelta(days=days))).all()
        by_verifier: dict[int, int] = {}
        for record in stale:
            if record.beneficiary_id is not None:
                targets = [record.beneficiary_id]
            else:
                targets = list(session.scalars(select(Resident.id).join(ResidentRole).where(
                    Resident.community_id == record.community_id,
                    ResidentRole.role.in_([Role.STAFF, Role.ADMIN]))))
            for target in targets:
                by_verifier[target] = by_verifier.get(target, 0) + 1
            record.reminded_at = now
        for target, count in by_verifier.items():
            enqueue(session, target, "timebank", message(text("tb_pending_reminder", n=count,
                                                              days=days)),
                    f"tb-pending:{now:%Y%m%d}:{target}")
            told += 1
    return told


def expire_hours(rt, now: datetime | None = None) -> int:
    """Monthly: expire old unspent hours when `timebank.expiry_months` is set."""
    now = now or utcnow()
    if int(tb.cfg(rt.config, "expiry_months", 0)) <= 0:
        return 0
    expired, after = 0, 0
    while True:
        with transaction(rt.sessions) as session:
            accounts = session.scalars(select(Account).where(
                Account.owner_id.is_not(None), Account.balance > 0, Account.id > after)
                .order_by(Account.id).limit(BATCH)).all()
            if not accounts:
                return expired
            for account in accounts:
                expired += tb.expire(session, rt.config, account, now)
            after = accounts[-1].id
