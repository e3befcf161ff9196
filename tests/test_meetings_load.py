"""200 residents sign up at once for a 50-seat meeting, through a multi-worker webhook."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from models import Meeting, Resident, Signup, SignupStatus
from tests.meeting_helpers import make_meeting_committed
from tests.scheduler_helpers import seed_followers

PEOPLE, SEATS = 200, 50


def _all_say(sim, openids, words) -> list[str]:
    with ThreadPoolExecutor(24) as pool:
        return list(pool.map(lambda o: sim.call("POST", f"/personas/{o}/send",
                                                json={"type": "text", "content": words})["reply"],
                             openids))


@pytest.mark.xdist_group("gunicorn")
def test_capacity_holds_and_the_waitlist_keeps_arrival_order(via_gunicorn, config, db, db_url):
    sim = via_gunicorn
    openids = seed_followers(db_url, sim, PEOPLE, prefix="oseat")
    mid = make_meeting_committed(config, capacity=SEATS)
    assert all("确认报名" in r for r in _all_say(sim, openids, "报名 1"))
    first = _all_say(sim, openids, "1")
    won = [o for o, r in zip(openids, first) if "报名成功" in r]
    offered = [o for o, r in zip(openids, first) if "名额已满" in r]
    assert len(won) == SEATS and len(offered) == PEOPLE - SEATS
    assert all("候补" in r for r in _all_say(sim, offered, "1"))
    db.rollback()
    rows = db.scalars(select(Signup).where(Signup.meeting_id == mid).order_by(Signup.id)).all()
    confirmed = [r for r in rows if r.status is SignupStatus.CONFIRMED]
    waiting = [r for r in rows if r.status is SignupStatus.WAITLISTED]
    assert (len(confirmed), len(waiting)) == (SEATS, PEOPLE - SEATS)
    assert len({r.resident_id for r in rows}) == PEOPLE  # nobody twice
    assert db.get(Meeting, mid).confirmed_count == SEATS

    # cancellations, one by one and then several at once: seats go by arrival order
    leaving = [r.resident_id for r in confirmed[:8]]
    by_id = dict(db.execute(select(Resident.id, Resident.openid)
                            .where(Resident.openid.in_(openids))).all())
    for rid in leaving[:5]:
        assert "已取消报名" in sim.call("POST", f"/personas/{by_id[rid]}/send",
                                       json={"type": "text", "content": "取消报名 1"})["reply"]
    _all_say(sim, [by_id[rid] for rid in leaving[5:]], "取消报名 1")
    db.rollback()
    after = {r.id: r.status for r in db.scalars(select(Signup).where(Signup.meeting_id == mid))}
    promoted = [r.id for r in waiting if after[r.id] is SignupStatus.CONFIRMED]
    assert promoted == [r.id for r in waiting[:8]]
    assert sum(s is SignupStatus.CONFIRMED for s in after.values()) == SEATS
    assert db.get(Meeting, mid).confirmed_count == SEATS

