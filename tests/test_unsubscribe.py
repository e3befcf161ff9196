"""Unfollow (and 注销): personal data erased per platform rules, governance records kept."""
from __future__ import annotations

from sqlalchemy import select

from models import (
    Conversation,
    OutboxMessage,
    ProcessedMessage,
    Report,
    Resident,
    ResidentRole,
    Role,
)


def test_unfollow_anonymises_and_keeps_the_row(chat, fast_db):
    p = chat.registered(mobile="13812345678", name="张伯")
    row = p.resident
    fast_db.add(ResidentRole(resident_id=row.id, role=Role.VOLUNTEER, granted_by="test"))
    fast_db.flush()
    assert row.building_id is not None
    # what the person leaves behind: a report with their home address and a phone number in
    # its words, pushes about it, stored replies showing their masked number
    p.say("报事")
    p.say("楼上漏水，请打我电话13812345678或0757-86661234")
    p.say("跳过")
    p.say("3栋2单元")
    p.say("1")
    code = p.say("1").split("编号：")[1][:8]
    p.say("我的信息")  # leave a conversation open (its reply shows 138****5678)
    assert p.unfollow() is None
    fast_db.expire_all()
    assert chat.resident(p.openid) is None
    kept = fast_db.get(Resident, row.id)
    assert kept is not None and kept.openid is None and kept.anonymised_at is not None
    assert (kept.mobile, kept.address, kept.name, kept.building_id, kept.last_message_at) == \
        (None, None, None, None, None)
    assert kept.community_id is not None  # the community's records still count this person
    assert not kept.followed and kept.consent_version is None
    assert fast_db.get(Conversation, row.id) is None
    assert fast_db.scalars(select(ResidentRole).where(ResidentRole.resident_id == row.id)).all() == []
    assert fast_db.scalars(select(ProcessedMessage).where(ProcessedMessage.openid == p.openid)).all() == []
    replies = fast_db.scalars(select(ProcessedMessage.reply)).all()
    assert not any("138****5678" in (r or "") for r in replies)
    report = fast_db.scalar(select(Report).where(Report.code == code))
    assert report.address is None  # it was the home address
    assert "13812345678" not in report.description and "86661234" not in report.description
    assert "138****5678" in report.description  # what happened is kept, not who to call
    payloads = [o.payload.get("text", "") for o in fast_db.scalars(select(OutboxMessage))]
    assert not any("13812345678" in t or "86661234" in t for t in payloads)


def test_refollow_starts_as_a_new_resident(chat):
    p = chat.registered()
    old_id = p.resident.id
    p.unfollow()
    reply = p.follow()
    assert "请先选择您所在的社区" in reply
    assert p.resident.id != old_id


def test_unsubscribe_from_unknown_openid_creates_nothing(chat):
    p = chat.persona()
    assert p.unfollow() is None
    assert p.resident is None
