"""Time bank domain: the ledger and every operation that moves minutes.

All movements go through `post`, which locks the account row, refuses to go
below zero (a CHECK constraint backs this up), appends the entry and updates
the cached balance in the same transaction — so the cache always equals the
sum of the entries. Above the cap, earned minutes overflow to the community pool.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.config import Config
from bot.db import insert_ignore
from bot.outbox import enqueue, message
from bot.texts import text
from models import (Account, ApplicationStatus, EntryKind, LedgerEntry, RecordStatus, Redemption,
                    RedemptionStatus, Resident, ResidentRole, Role, ServiceRecord, VolunteerApplication,
                    utcnow)


class TimebankError(ValueError):
    """Refused; `key` names the catalogue text that explains it."""

    def __init__(self, key: str, **values: object):
        super().__init__(text(key, **values))
        self.key, self.values = key, values


def cfg(config: Config, key: str, default):
    return config.get_path(f"timebank.{key}", default)


def hours(minutes: int) -> str:
    return f"{minutes / 60:g}"


# --- accounts and posting -----------------------------------------------------------

def _account_row(session: Session, community_id: int, owner_id: int | None) -> Account:
    query = select(Account).where(Account.community_id == community_id,
                                  Account.owner_id.is_(None) if owner_id is None
                                  else Account.owner_id == owner_id)
    account = session.scalar(query)
    if account is None:
        insert_ignore(session, Account.__table__, {
            "owner_id": owner_id, "community_id": community_id, "balance": 0, "earned_total": 0,
            "leaderboard_opt_out": False, "created_at": utcnow()},
            *((["owner_id"], None) if owner_id is not None else (["community_id"], "owner_id IS NULL")))
        account = session.scalar(query)
    return account


def account_of(session: Session, resident: Resident) -> Account:
    return _account_row(session, resident.community_id, resident.id)


def pool_of(session: Session, community_id: int) -> Account:
    return _account_row(session, community_id, None)


def post(session: Session, account_id: int, minutes: int, kind: EntryKind, *, source: str,
         actor: str, note: str | None = None) -> LedgerEntry:
    """Append one entry under the account's row lock; never below zero."""
    account = session.get(Account, account_id, with_for_update=True, populate_existing=True)
    if account.balance + minutes < 0:
        raise TimebankError("tb_insufficient", balance=hours(account.balance))
    entry = LedgerEntry(account_id=account.id, kind=kind, minutes=minutes, source=source,
                        note=note, actor=actor, created_at=utcnow())
    session.add(entry)
    account.balance += minutes
    if kind is EntryKind.EARN:
        account.earned_total += minutes
    session.flush()
    return entry



def day_total(session: Session, volunteer_id: int, day: date) -> int:
    return session.scalar(select(func.coalesce(func.sum(ServiceRecord.minutes), 0)).where(
        ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.service_date == day,
        ServiceRecord.status != RecordStatus.REJECTED)) or 0


# --- records and verification ------------------------------------------------------------

def log_service(session: Session, config: Config, volunteer: Resident, *, service_type: str,
                day: date, minutes: int, beneficiary: Resident | None, beneficiary_name: str | None,
                description: str | None, photo: str | None, entered_by: str | None,
                now: datetime) -> ServiceRecord:
    """A pending record; the beneficiary (when a resident) is asked to confirm it."""
    limit = int(float(cfg(config, "daily_max_hours", 12)) * 60)
    if day_total(session, volunteer.id, day) + minutes > limit:
        raise TimebankError("tb_day_limit", limit=cfg(config, "daily_max_hours", 12))
    record = ServiceRecord(volunteer_id=volunteer.id, community_id=volunteer.community_id,
                           service_type=service_type, service_date=day, minutes=minutes,
                           beneficiary_id=beneficiary.id if beneficiary else None,
                           beneficiary_name=beneficiary_name, description=description,
                           photo_media_id=photo, entered_by=entered_by, created_at=now)
    session.add(record)
    session.flush()
    if beneficiary is not None and entered_by is None:
        enqueue(session, beneficiary.id, "timebank", message(text(
            "tb_beneficiary_confirm", volunteer=volunteer.name or text("tb_a_volunteer"),
            type=service_type, hours=hours(minutes), day=f"{day:%m月%d日}", id=record.id)),
            f"record:{record.id}:ask-beneficiary")
    return record


def approve(session: Session, config: Config, record: ServiceRecord, verifier: str,
            now: datetime) -> int:
    """Credit the hours (above the cap, the excess goes to the pool); returns minutes kept."""
    record = session.get(ServiceRecord, record.id, with_for_update=True, populate_existing=True)
    if record.status is not RecordStatus.PENDING:
        raise TimebankError("tb_record_done")
    volunteer = session.get(Resident, record.volunteer_id)
    account = account_of(session, volunteer)
    cap = int(float(cfg(config, "balance_cap_hours", 1500)) * 60)
    current = session.get(Account, account.id, with_for_update=True, populate_existing=True)
    kept = max(0, min(record.minutes, cap - current.balance))
    before_total = current.earned_total
    if kept:
        post(session, account.id, kept, EntryKind.EARN, source=f"record:{record.id}", actor=verifier)
    excess = record.minutes - kept
    if excess:
        pool = pool_of(session, record.community_id)
        post(session, pool.id, excess, EntryKind.OVERFLOW, source=f"record:{record.id}",
             actor=verifier, note=f"cap reached for account {account.id}")
        enqueue(session, volunteer.id, "timebank", message(text(
            "tb_cap_overflow", hours=hours(excess), cap=cfg(config, "balance_cap_hours", 1500))),
            f"record:{record.id}:overflow")
    record.status, record.verifier, record.verified_at = RecordStatus.APPROVED, verifier, now
    enqueue(session, volunteer.id, "timebank", message(text(
        "tb_record_approved", type=record.service_type, hours=hours(record.minutes),
        day=f"{record.service_date:%m月%d日}")), f"record:{record.id}:approved")
    _milestones(session, config, volunteer, before_total, current.earned_total)
    return kept


def reject(session: Session, record: ServiceRecord, verifier: str, reason: str,
           now: datetime) -> None:
    record = session.get(ServiceRecord, record.id, with_for_update=True, populate_existing=True)
    if record.status is not RecordStatus.PENDING:
        raise TimebankError("tb_record_done")
    record.status, record.verifier, record.verified_at = RecordStatus.REJECTED, verifier, now
    record.reason = reason[:200]
    enqueue(session, record.volunteer_id, "timebank", message(text(
        "tb_record_rejected", type=record.service_type, hours=hours(record.minutes),
        reason=record.reason)), f"record:{record.id}:rejected")


def decide_application(session: Session, application: VolunteerApplication, approve: bool,
                       actor: str, now: datetime, reason: str = "") -> None:
    """Approve (the volunteer role is granted) or decline, with the reason; they are told."""
    if application.status is not ApplicationStatus.PENDING:
        raise TimebankError("tb_record_done")
    application.decided_by, application.decided_at = actor, now
    if approve:
        application.status = ApplicationStatus.APPROVED
        grant_volunteer(session, session.get(Resident, application.resident_id), actor)
        enqueue(session, application.resident_id, "timebank",
                message(text("tb_application_approved")), f"application:{application.id}:approved")
    else:
        application.status, application.reason = ApplicationStatus.DECLINED, reason[:200]
        enqueue(session, application.resident_id, "timebank", message(
            text("tb_application_declined", reason=application.reason)),
            f"application:{application.id}:declined")


def _milestones(session: Session, config: Config, volunteer: Resident, before: int, after: int) -> None:
    for mark in cfg(config, "milestones_hours", [50, 100, 500]):
        if before < mark * 60 <= after:
            enqueue(session, volunteer.id, "timebank", message(text("tb_milestone", hours=mark)),
                    f"milestone:{volunteer.id}:{mark}")


# --- redemption, transfer, donation, grants ---------------------------------------------

def catalogue(config: Config, community_name: str) -> list[dict]:
    items = cfg(config, "catalogue", {}) or {}
    return list(items.get(community_name) or items.get("default") or [])


def request_redemption(session: Session, resident: Resident, item: dict, now: datetime) -> Redemption:
    """Hold the hours at once; staff fulfil (debit) or cancel (release) later."""
    account = account_of(session, resident)
    minutes = int(round(float(item["hours"]) * 60))
    redemption = Redemption(account_id=account.id, community_id=resident.community_id,
                            service_code=item["code"], service_name=item["name"], minutes=minutes,
                            status=RedemptionStatus.HELD, created_at=now)
    session.add(redemption)
    session.flush()
    post(session, account.id, -minutes, EntryKind.HOLD, source=f"redemption:{redemption.id}",
         actor="resident")
    return redemption


def settle_redemption(session: Session, redemption: Redemption, fulfil: bool, actor: str,
                      now: datetime) -> None:
    """Fulfil (the hold becomes the debit) or cancel (the hold is released)."""
    redemption = session.get(Redemption, redemption.id, with_for_update=True, populate_existing=True)
    if redemption.status is not RedemptionStatus.HELD:
        raise TimebankError("tb_redemption_done")
    source = f"redemption:{redemption.id}"
    post(session, redemption.account_id, redemption.minutes, EntryKind.RELEASE, source=source,
         actor=actor)
    if fulfil:
        post(session, redemption.account_id, -redemption.minutes, EntryKind.REDEEM, source=source,
             actor=actor)
    redemption.status = RedemptionStatus.FULFILLED if fulfil else RedemptionStatus.CANCELLED
    redemption.decided_by, redemption.decided_at = actor, now
    owner = session.scalar(select(Account.owner_id).where(Account.id == redemption.account_id))
    if owner is not None:
        enqueue(session, owner, "timebank", message(text(
            "tb_redemption_fulfilled" if fulfil else "tb_redemption_cancelled",
            name=redemption.service_name)), f"redemption:{redemption.id}:{redemption.status.value}")


def adjust(session: Session, account: Account, minutes: int, actor: str, reason: str) -> int:
    """A staff correction (+/-) with its reason; returns the balance before."""
    if not reason.strip():
        raise TimebankError("tb_ask_adjust")
    before = account.balance
    post(session, account.id, minutes, EntryKind.ADJUST, source=f"adjust:{actor}"[:64],
         actor=actor, note=reason.strip()[:200])
    return before


def grant(session: Session, elder: Resident, minutes: int, actor: str, now: datetime) -> None:
    """Hours from the community pool to an elder in need."""
    source = f"grant:{elder.id}:{now:%Y%m%d%H%M%S}"
    post(session, pool_of(session, elder.community_id).id, -minutes, EntryKind.GRANT,
         source=source, actor=actor)
    post(session, account_of(session, elder).id, minutes, EntryKind.GRANT, source=source,
         actor=actor)


def transfer(session: Session, config: Config, giver: Resident, receiver: Resident, minutes: int,
             now: datetime) -> None:
    """To a family member who is a resident of the same community."""
    if receiver.id == giver.id:
        raise TimebankError("tb_transfer_self")
    if receiver.community_id != giver.community_id:
        raise TimebankError("tb_transfer_other_community")
    limit = int(float(cfg(config, "transfer_max_hours", 100)) * 60)
    if minutes > limit:
        raise TimebankError("tb_transfer_too_much", limit=cfg(config, "transfer_max_hours", 100))
    source = f"transfer:{giver.id}->{receiver.id}:{now:%Y%m%d%H%M%S%f}"
    post(session, account_of(session, giver).id, -minutes, EntryKind.TRANSFER_OUT, source=source,
         actor="resident")
    post(session, account_of(session, receiver).id, minutes, EntryKind.TRANSFER_IN, source=source,
         actor="resident")
    enqueue(session, receiver.id, "timebank", message(text(
        "tb_transfer_received", hours=hours(minutes))), f"{source}:told")


def donate(session: Session, giver: Resident, minutes: int, now: datetime) -> None:
    source = f"donation:{giver.id}:{now:%Y%m%d%H%M%S%f}"
    post(session, account_of(session, giver).id, -minutes, EntryKind.DONATION, source=source,
         actor="resident")
    post(session, pool_of(session, giver.community_id).id, minutes, EntryKind.DONATION,
         source=source, actor="resident")


def is_volunteer(resident: Resident) -> bool:
    return resident.has_role(Role.VOLUNTEER)


def grant_volunteer(session: Session, resident: Resident, actor: str) -> None:
    if not is_volunteer(resident):
        session.add(ResidentRole(resident_id=resident.id, role=Role.VOLUNTEER, granted_by=actor))


def statement(session: Session, account: Account, since: datetime, until: datetime) -> dict:
    """Minutes in and out between two moments, and the balance now."""
    rows = session.execute(select(LedgerEntry.kind, func.sum(LedgerEntry.minutes)).where(
        LedgerEntry.account_id == account.id, LedgerEntry.created_at >= since,
        LedgerEntry.created_at < until).group_by(LedgerEntry.kind)).all()
    by_kind = {kind.value: int(total) for kind, total in rows}
    return {"earned": by_kind.get("earn", 0), "spent": -by_kind.get("redeem", 0),
            "balance": account.balance}


CREDITS = (EntryKind.EARN, EntryKind.TRANSFER_IN, EntryKind.GRANT)


def expire(session: Session, config: Config, account: Account, now: datetime) -> int:
    """Expire minutes credited more than `timebank.expiry_months` ago and not spent since
    (oldest hours are spent first). 0 months, the default, means hours never expire."""
    months = int(cfg(config, "expiry_months", 0))
    if months <= 0 or account.owner_id is None:
        return 0
    cutoff = now - timedelta(days=30 * months)
    old_credits = session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
        LedgerEntry.account_id == account.id, LedgerEntry.kind.in_(CREDITS),
        LedgerEntry.created_at < cutoff)) or 0
    # Everything that ever left the account counts against the oldest credits first.
    debits = session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
        LedgerEntry.account_id == account.id, LedgerEntry.minutes < 0)) or 0
    returns = session.scalar(select(func.coalesce(func.sum(LedgerEntry.minutes), 0)).where(
        LedgerEntry.account_id == account.id, LedgerEntry.kind == EntryKind.RELEASE)) or 0
    unspent_old = old_credits + debits + returns
    current = session.get(Account, account.id, with_for_update=True, populate_existing=True)
    minutes = min(unspent_old, current.balance)
    if minutes <= 0:
        return 0
    post(session, account.id, -minutes, EntryKind.EXPIRY, source=f"expiry:{now:%Y%m}",
         actor="system", note=f"credited before {cutoff:%Y-%m-%d}")
    enqueue(session, account.owner_id, "timebank", message(text(
        "tb_expired", hours=hours(minutes), months=months)), f"expiry:{now:%Y%m}:{account.id}")
    return minutes
