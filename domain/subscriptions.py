"""Residents' consent to subscription notifications (订阅通知), as WeChat reports it.

The pop-up (`subscribe_msg_popup_event`) and the settings page (`subscribe_msg_change_event`)
say accept or reject per template; a long-term template stays allowed until rejected, a
one-time template allows one send per "allow" (the outbox spends them). A failed send
report (`subscribe_msg_sent_event` other than success) means the grant is gone.
"""
from __future__ import annotations

from sqlalchemy import delete, select

from domain.unit import Unit
from models import Resident, SubscriptionGrant


def long_term(uow: Unit, template_id: str) -> bool:
    """Whether the account's template is long-term (as configured; long-term if unknown)."""
    for use in uow.config.wechat.subscriptions.values():
        if use.id == template_id:
            return use.long_term
    return True


def record_answers(uow: Unit, resident: Resident, answers: list[tuple[str, str]], event: str) -> None:
    for template_id, status in answers:
        template_id = template_id[:64]
        if event == "subscribe_msg_sent_event":
            if status != "success":
                _forget(uow, resident, template_id)
        elif status == "accept":
            grant = uow.session.get(SubscriptionGrant, (resident.id, template_id))
            if grant is None:
                grant = SubscriptionGrant(resident_id=resident.id, template_id=template_id,
                                          long_term=long_term(uow, template_id), remaining=0)
                uow.session.add(grant)
            if not grant.long_term:
                grant.remaining = (grant.remaining or 0) + 1
            grant.updated_at = uow.now
        else:
            _forget(uow, resident, template_id)


def _forget(uow: Unit, resident: Resident, template_id: str) -> None:
    uow.session.execute(delete(SubscriptionGrant).where(
        SubscriptionGrant.resident_id == resident.id, SubscriptionGrant.template_id == template_id))


def allowed(uow: Unit, resident: Resident) -> dict[str, SubscriptionGrant]:
    """The resident's usable grants by template id (the subscription page shows them)."""
    rows = uow.session.scalars(select(SubscriptionGrant).where(SubscriptionGrant.resident_id == resident.id))
    return {g.template_id: g for g in rows if g.long_term or g.remaining > 0}
