"""What the scheduler asks of the time bank: monthly statements, reminders of records
waiting for verification, and expiry of old unspent hours (when configured)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from core.outbox import message
from core.texts import text
from domain.reports.routing import community_staff
from domain.timebank.ledger import expire, hours
from domain.timebank.verification import BENEFICIARY, STAFF, waiting_on
from domain.unit import Unit
from models import Account, LedgerEntry, RecordStatus, ServiceRecord

BATCH = 1000


def statements(uow: Unit, after: int) -> tuple[int, int | None]:
    """Last month's statement for up to BATCH account holders with id > `after` who have a
    balance or had activity; returns (sent, last account id seen, or None when done).
    One aggregate query per batch, so memory stays flat however many volunteers there are."""
    local = uow.now.astimezone(uow.config.tz)
    this_month = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    accounts = uow.session.execute(select(Account.id, Account.owner_id, Account.balance).where(
        Account.owner_id.is_not(None), Account.id > after).order_by(Account.id).limit(BATCH)).all()
    if not accounts:
        return 0, None
    ids = [a.id for a in accounts]
    moves: dict[int, dict[str, int]] = {}
    for account_id, kind, total in uow.session.execute(
            select(LedgerEntry.account_id, LedgerEntry.kind, func.sum(LedgerEntry.minutes))
            .where(LedgerEntry.account_id.in_(ids), LedgerEntry.created_at >= last_month,
                   LedgerEntry.created_at < this_month)
            .group_by(LedgerEntry.account_id, LedgerEntry.kind)):
        moves.setdefault(account_id, {})[kind.value] = int(total)
    sent = 0
    for account_id, owner_id, balance in accounts:
        mine = moves.get(account_id, {})
        if not mine and not balance:
            continue
        uow.push(owner_id, "timebank_statement", message(text(
            "tb_statement", month=f"{last_month:%Y年%m月}", earned=hours(mine.get("earn", 0)),
            spent=hours(-mine.get("redeem", 0)), balance=hours(balance)), {
                "item": text("notice_statement", month=f"{last_month.month}"), "time": uow.now,
                "note": text("notice_statement_line", earned=hours(mine.get("earn", 0)),
                             balance=hours(balance))}),
            f"statement:{last_month:%Y%m}:{account_id}")
        sent += 1
    return sent, ids[-1]


def remind_pending(uow: Unit) -> int:
    """Records waiting longer than `timebank.reminder_after_days`: tell whoever still has to
    verify them (the community's staff, the person served), once per record."""
    days = uow.config.timebank.reminder_after_days
    stale = uow.session.scalars(select(ServiceRecord).where(
        ServiceRecord.status == RecordStatus.PENDING, ServiceRecord.reminded_at.is_(None),
        ServiceRecord.created_at < uow.now - timedelta(days=days))).all()
    by_verifier: dict[int, int] = {}
    for record in stale:
        waiting = waiting_on(uow, record)
        targets = ([record.beneficiary_id] if BENEFICIARY in waiting else []) + \
            (community_staff(uow.session, record.community_id) if STAFF in waiting else [])
        for target in targets:
            by_verifier[target] = by_verifier.get(target, 0) + 1
        record.reminded_at = uow.now
    for target, count in by_verifier.items():
        uow.push(target, "timebank_pending", message(text("tb_pending_reminder", n=count, days=days), {
            "item": text("notice_pending"), "count": count, "time": uow.now}),
            f"tb-pending:{uow.now:%Y%m%d}:{target}")
    return len(by_verifier)


def expire_batch(uow: Unit, after: int) -> tuple[int, int | None]:
    """Expire old unspent hours for up to BATCH accounts with id > `after`."""
    accounts = uow.session.scalars(select(Account).where(
        Account.owner_id.is_not(None), Account.balance > 0, Account.id > after)
        .order_by(Account.id).limit(BATCH)).all()
    if not accounts:
        return 0, None
    return sum(expire(uow, account) for account in accounts), accounts[-1].id
