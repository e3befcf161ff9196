"""Family members (家人) and the hours given to them (转赠).

Hours go only to a family member the giver declared and staff confirmed (a household
link). The hours are held on the giver's account until the family member accepts them
(接受) or gives them back (不要); after `timebank.transfer_accept_days` they go back.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select

from core.db import ROW_LOCK
from core.outbox import message
from core.texts import text
from core.words import clip
from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.people import mask_name, person_name
from domain.timebank.ledger import account_of, hours, lock, post
from domain.unit import Unit, use_case
from models import EntryKind, FamilyLink, LinkStatus, Resident, Transfer, TransferStatus

BATCH = 500


# --- household links -----------------------------------------------------------------------

@use_case
def declare(uow: Unit, resident: Resident, relative: Resident, relation: str | None) -> FamilyLink:
    """A resident names a family member registered in the same community; staff confirm."""
    if relative.id == resident.id:
        raise Refused("tb_family_self")
    if relative.community_id != resident.community_id:
        raise Refused("tb_transfer_other_community")
    link = uow.session.scalar(select(FamilyLink).where(FamilyLink.resident_id == resident.id,
                                                       FamilyLink.relative_id == relative.id))
    if link is not None and link.status is not LinkStatus.DECLINED:
        raise Refused("tb_family_known" if link.status is LinkStatus.CONFIRMED else "tb_family_waiting",
                      name=person_name(relative) if link.status is LinkStatus.CONFIRMED
                      else mask_name(person_name(relative)))
    if link is None:
        link = FamilyLink(resident_id=resident.id, relative_id=relative.id,
                          community_id=resident.community_id, created_at=uow.now)
        uow.session.add(link)
    link.relation, link.status = clip(relation, 16), LinkStatus.PENDING
    link.decided_by = link.decided_at = link.reason = None
    uow.session.flush()
    return link


@use_case
def decide_link(uow: Unit, actor: Actor, link: FamilyLink, confirm: bool, reason: str = "") -> None:
    """Staff confirm the family link (after checking the 户口簿 or knowing the family), or
    decline it with the reason; the resident is told either way."""
    if not actor.is_staff_of(link.community_id):
        raise Refused("not_allowed")
    if link.status is not LinkStatus.PENDING:
        raise Refused("tb_record_done")
    if not confirm and not reason.strip():
        raise Refused("c_reason_required")
    relative = uow.session.get(Resident, link.relative_id)
    link.status = LinkStatus.CONFIRMED if confirm else LinkStatus.DECLINED
    link.decided_by, link.decided_at, link.reason = actor.display[:64], uow.now, clip(reason, 200)
    words = text("tb_family_confirmed", name=person_name(relative)) if confirm else \
        text("tb_family_declined", name=person_name(relative), reason=link.reason)
    uow.push(link.resident_id, "timebank_result", message(words, {
        "item": text("notice_family"), "note": text("notice_approved") if confirm else link.reason,
        "time": uow.now}), f"family:{link.id}:{link.status.value}")
    audit.record(uow, actor, "family_confirm" if confirm else "family_decline", f"family:{link.id}",
                 {"status": "pending"}, {"status": link.status.value, "resident": link.resident_id,
                                         "relative": link.relative_id}, link.reason)


def links_of(uow: Unit, resident: Resident) -> list[tuple[FamilyLink, Resident]]:
    return list(uow.session.execute(select(FamilyLink, Resident).join(
        Resident, Resident.id == FamilyLink.relative_id).where(FamilyLink.resident_id == resident.id)
        .order_by(FamilyLink.id)).all())


# --- transfers -----------------------------------------------------------------------------

@use_case
def offer(uow: Unit, giver: Resident, receiver: Resident, minutes: int) -> Transfer:
    """Hold the hours for a confirmed family member and ask them to accept."""
    if receiver.id == giver.id:
        raise Refused("tb_transfer_self")
    if receiver.community_id != giver.community_id:
        raise Refused("tb_transfer_other_community")
    if uow.session.scalar(select(FamilyLink.id).where(
            FamilyLink.resident_id == giver.id, FamilyLink.relative_id == receiver.id,
            FamilyLink.status == LinkStatus.CONFIRMED)) is None:
        raise Refused("tb_transfer_not_family")
    limit = uow.config.timebank.transfer_max_hours
    if not 0 < minutes <= limit * 60:
        raise Refused("tb_transfer_too_much", limit=f"{limit:g}")
    days = uow.config.timebank.transfer_accept_days
    transfer = Transfer(giver_id=giver.id, receiver_id=receiver.id, community_id=giver.community_id,
                        minutes=minutes, status=TransferStatus.PENDING,
                        expires_at=uow.now + timedelta(days=days), created_at=uow.now)
    uow.session.add(transfer)
    uow.session.flush()
    post(uow, account_of(uow, giver).id, -minutes, EntryKind.HOLD, source=f"transfer:{transfer.id}",
         actor="resident")
    uow.push(receiver.id, "timebank_account", message(text(
        "tb_transfer_offered", name=person_name(giver), hours=hours(minutes), id=transfer.id, days=days), {
            "item": text("notice_transfer_offer"), "note": text("notice_hours", hours=hours(minutes)),
            "time": uow.now}), f"transfer:{transfer.id}:offered")
    return transfer


def waiting_for(uow: Unit, receiver: Resident) -> list[Transfer]:
    return list(uow.session.scalars(select(Transfer).where(
        Transfer.receiver_id == receiver.id, Transfer.status == TransferStatus.PENDING)
        .order_by(Transfer.id).limit(10)))


def _settle(uow: Unit, transfer: Transfer, status: TransferStatus) -> Transfer:
    """Release the hold; on acceptance the hours then move. Told to the giver."""
    transfer = uow.session.get(Transfer, transfer.id, with_for_update=ROW_LOCK, populate_existing=True)
    if transfer.status is not TransferStatus.PENDING:
        raise Refused("tb_transfer_done", code=f"Z{transfer.id}")
    giver = uow.session.get(Resident, transfer.giver_id)
    receiver = uow.session.get(Resident, transfer.receiver_id)
    source = f"transfer:{transfer.id}"
    mine = account_of(uow, giver)
    if status is TransferStatus.ACCEPTED:
        theirs = account_of(uow, receiver)
        lock(uow, mine.id, theirs.id)
        post(uow, mine.id, transfer.minutes, EntryKind.RELEASE, source=source, actor="resident")
        post(uow, mine.id, -transfer.minutes, EntryKind.TRANSFER_OUT, source=source, actor="resident")
        post(uow, theirs.id, transfer.minutes, EntryKind.TRANSFER_IN, source=source, actor="resident")
    else:
        post(uow, mine.id, transfer.minutes, EntryKind.RELEASE, source=source, actor="system"
             if status is TransferStatus.EXPIRED else "resident")
    transfer.status, transfer.decided_at = status, uow.now
    uow.push(giver.id, "timebank_account", message(text(
        f"tb_transfer_{status.value}", name=person_name(receiver), hours=hours(transfer.minutes)), {
            "item": text("notice_transfer"), "note": text(f"tb_transfer_status_{status.value}"),
            "time": uow.now}), f"{source}:{status.value}")
    return transfer


def _theirs(transfer: Transfer, receiver: Resident) -> None:
    if transfer.receiver_id != receiver.id:
        raise Refused("tb_transfer_unknown_code", code=f"Z{transfer.id}")


@use_case
def accept(uow: Unit, receiver: Resident, transfer: Transfer) -> Transfer:
    _theirs(transfer, receiver)
    return _settle(uow, transfer, TransferStatus.ACCEPTED)


@use_case
def decline(uow: Unit, receiver: Resident, transfer: Transfer) -> Transfer:
    _theirs(transfer, receiver)
    return _settle(uow, transfer, TransferStatus.DECLINED)


def expire_due(uow: Unit) -> int:
    """Offers nobody accepted in time go back to the giver (a batch per run)."""
    due = uow.session.scalars(select(Transfer).where(
        Transfer.status == TransferStatus.PENDING, Transfer.expires_at <= uow.now)
        .order_by(Transfer.id).limit(BATCH)).all()
    for transfer in due:
        _settle(uow, transfer, TransferStatus.EXPIRED)
    return len(due)


def forget(uow: Unit, resident: Resident) -> None:
    """The person's data is erased: their family links go, and offers they made or were
    made go back to the giver."""
    for transfer in uow.session.scalars(select(Transfer).where(
            Transfer.status == TransferStatus.PENDING,
            (Transfer.giver_id == resident.id) | (Transfer.receiver_id == resident.id))).all():
        _settle(uow, transfer, TransferStatus.DECLINED)
    uow.session.execute(delete(FamilyLink).where(
        (FamilyLink.resident_id == resident.id) | (FamilyLink.relative_id == resident.id)))
