"""A neighbour's open report offered as +1 while filing one: which reports are offered,
following one, declining (fast tier)."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from domain.reports.queries import nearby_open
from models import Report, ReportFollower, Status
from tests.test_reports import JINNING, file_report, grid_worker, report_row


def test_nearby_duplicate_offers_plus_one(chat, fast_db):
    registered, db = chat.registered, fast_db
    grid_worker(chat, 1)  # 金宁第一网格's worker follows: the report is routed to them
    alice, bob = registered("alice"), registered("bob")
    code = file_report(alice, where=JINNING)
    bob.say("报事")
    bob.say("楼道灯坏了")
    bob.say("好了")
    bob.send_location(JINNING[0] + 0.0003, JINNING[1])  # ~33 m away
    bob.say("1")
    offer = bob.say("1")
    # Only what a neighbour may know: category, coarse place, status, how many raised it.
    assert "+1" in offer and "公共设施维修" in offer and "已有1人反映" in offer
    assert code not in offer and "楼道灯" not in offer
    assert code in bob.say("1")
    db.expire_all()
    report = db.scalar(select(Report).where(Report.code == code))
    followers = db.scalars(select(ReportFollower.resident_id)
                           .where(ReportFollower.report_id == report.id)).all()
    assert len(followers) == 1 and len(db.scalars(select(Report)).all()) == 1
    assert code in bob.say("我的报事")


def test_the_duplicate_offer_is_a_recent_open_report_in_the_building_or_close_by(chat, uow, clock):
    alice, bob = chat.registered("alice"), chat.registered("bob")
    placed = report_row(uow.session, file_report(alice, where=JINNING))
    built = report_row(uow.session, file_report(alice, where="3栋"))
    me = chat.resident(bob.openid)

    def offered(lat=None, lng=None, building_id=None, category=built.category):
        found = nearby_open(uow, resident=me, community_id=me.community_id, category_code=category,
                            lat=lat, lng=lng, building_id=building_id)
        return found.code if found else None

    assert built.building_id is not None and placed.lat is not None
    assert offered(building_id=built.building_id) == built.code
    assert offered(JINNING[0] + 0.0003, JINNING[1]) == placed.code  # ~33 m
    assert offered(JINNING[0] + 0.01, JINNING[1]) is None  # ~1.1 km
    assert offered() is None and offered(building_id=built.building_id, category="noise") is None
    built.status = Status.CLOSED
    uow.session.flush()
    assert offered(building_id=built.building_id) is None
    placed.created_at = clock.now() - timedelta(days=uow.config.reports.duplicate_days + 1)
    uow.session.flush()
    assert offered(JINNING[0] + 0.0003, JINNING[1]) is None


def test_duplicate_offer_can_be_declined(chat, fast_db):
    registered, db = chat.registered, fast_db
    alice, bob = registered("alice"), registered("bob")
    file_report(alice)
    bob.say("报事")
    bob.say("3栋楼道灯又坏了")
    bob.say("好了")
    bob.say("3栋")
    bob.say("1")
    assert "+1" in bob.say("1")
    assert re.search(r"BS\d{6}", bob.say("2"))
    db.expire_all()
    assert len(db.scalars(select(Report)).all()) == 2
