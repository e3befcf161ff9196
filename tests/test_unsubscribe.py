"""Unfollow: personal data erased per platform rules, governance records kept."""
from __future__ import annotations

from sqlalchemy import select

from models import Conversation, ProcessedMessage, Resident, ResidentRole, Role


def test_unfollow_anonymises_and_keeps_the_row(sim, registered, resident, db):
    p = registered(mobile="13812345678")
    row = resident(p.openid)
    db.add(ResidentRole(resident_id=row.id, role=Role.VOLUNTEER, granted_by="test"))
    db.commit()
    p.say("我的信息")  # leave a conversation open
    assert p.unfollow() is None
    db.rollback()
    assert resident(p.openid) is None
    kept = db.get(Resident, row.id)
    assert kept is not None and kept.openid is None and kept.anonymised_at is not None
    assert (kept.mobile, kept.address, kept.name, kept.last_message_at) == (None, None, None, None)
    assert kept.community_id is not None  # the community's records still count this person
    assert not kept.followed
    assert db.get(Conversation, row.id) is None
    assert db.scalars(select(ResidentRole).where(ResidentRole.resident_id == row.id)).all() == []
    assert db.scalars(select(ProcessedMessage).where(ProcessedMessage.openid == p.openid)).all() == []


def test_refollow_starts_as_a_new_resident(sim, registered, resident, db):
    p = registered()
    old_id = resident(p.openid).id
    p.unfollow()
    reply = p.follow()
    assert "请先选择您所在的社区" in reply
    assert resident(p.openid).id != old_id


def test_unsubscribe_from_unknown_openid_creates_nothing(sim, db):
    p = sim.persona()
    assert p.unfollow() is None
    db.rollback()
    assert db.scalars(select(Resident)).all() == [] or all(
        r.openid != p.openid for r in db.scalars(select(Resident)))
