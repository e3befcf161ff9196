"""Staff broadcasts: audience, preview, progress, cancel, mass send by tag."""
from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.db import transaction
from core.texts import TEXTS
from domain.actor import Actor
from domain.broadcasts import cancel, create, preview, progress
from domain.errors import Refused
from models import (
    Broadcast,
    BroadcastStatus,
    Building,
    Community,
    Grid,
    OutboxStatus,
    ResidentRole,
    Role,
    Strategy,
    utcnow,
)
from scheduler import broadcasts
from tests.delivery_helpers import age_window, delivery_config, resident_id, rows, runtime


@pytest.fixture
def rt(sim, config):
    runtime_ = runtime(delivery_config(config))
    yield runtime_
    runtime_.dispatcher.pool.shutdown()


def community_id(rt, name="金宁社区") -> int:
    with rt.sessions() as session:
        return session.scalar(select(Community.id).where(Community.name == name))


STAFF = Actor.cli("test")


def make(rt, audience, strategy=Strategy.PER_RESIDENT, **extra) -> Broadcast:
    with rt.unit() as uow:
        return create(uow, STAFF, title="停水通知", text="明天9点至12点停水，请提前储水。",
                      audience=audience, strategy=strategy, **extra)


def cancel_it(rt, broadcast_id: int) -> int:
    with rt.unit() as uow:
        return cancel(uow, STAFF, uow.session.get(Broadcast, broadcast_id))


def test_community_broadcast_preview_progress_and_delivery(rt, registered, sim, engine):
    people = [registered(f"r{i}") for i in range(3)]
    age_window(rt, resident_id(engine, people[0].openid), hours=60)  # gets a template
    outsider = sim.persona("other")
    outsider.follow(scene="hegang")
    for answer in ("1", "跳过", "1栋", "跳过"):
        outsider.say(answer)
    audience = {"type": "community", "id": community_id(rt)}
    with rt.sessions() as session:
        counts = preview(session, rt.config, audience, Strategy.PER_RESIDENT, utcnow())
    assert counts == {"total": 3, "custom": 2, "template": 1, "undeliverable": 0}
    made = make(rt, audience)
    broadcasts.start_due(rt)
    with rt.sessions() as session:
        assert progress(session, session.get(Broadcast, made.id))["queued"] == 3
    rt.dispatcher.run()
    broadcasts.start_due(rt)  # closes the finished broadcast
    with rt.sessions() as session:
        done = session.get(Broadcast, made.id)
        report = progress(session, done)
    assert done.status is BroadcastStatus.DONE and done.recipients == 3
    assert report["sent"] == 3 and report["queued"] == 0
    assert all(len(p.pushes()) == 1 for p in people) and outsider.pushes() == []


def test_grid_building_and_role_audiences(rt, registered, engine):
    registered("alice")
    bob = registered("bob")
    with transaction(rt.sessions) as session:
        session.add(ResidentRole(resident_id=resident_id(engine, bob.openid), role=Role.VOLUNTEER,
                                 granted_by="test"))
        building = session.scalar(select(Building).where(Building.name == "3栋"))
        grid = session.get(Grid, building.grid_id)
        ids = (grid.id, building.id)
    with rt.sessions() as session:
        count = lambda a: preview(session, rt.config, a, Strategy.PER_RESIDENT, utcnow())["total"]  # noqa: E731
        assert count({"type": "grid", "id": ids[0]}) == 2  # both live in 3栋
        assert count({"type": "building", "id": ids[1]}) == 2
        assert count({"type": "role", "role": "volunteer"}) == 1
        assert count({"type": "all"}) == 2


def refusal(key: str) -> str:
    """The start of the catalogue text for `key` (before its first placeholder)."""
    return re.escape(TEXTS[key].split("{")[0])


@pytest.mark.parametrize("audience, text, reason", [
    ({"type": "community", "id": 9999}, "x", "bc_no_target"),
    ({"type": "planet"}, "x", "bc_unknown_audience"),
    ({"type": "role", "role": "king"}, "x", "bc_unknown_role"),
    ({"type": "all"}, "", "bc_empty_text"),
    ({"type": "all"}, "长" * 601, "bc_too_long"),
])
def test_bad_broadcasts_are_refused(rt, registered, audience, text, reason):
    registered()
    with pytest.raises(Refused) as refused:
        with rt.unit() as uow:
            create(uow, STAFF, title="t", text=text, audience=audience)
    assert refused.value.key == reason


def test_empty_audience_is_refused(rt, registered):
    registered()  # lives in 金宁
    with pytest.raises(Refused, match=refusal("bc_empty_audience")):
        make(rt, {"type": "community", "id": community_id(rt, "河岗社区")})


def test_mass_strategy_only_for_community_or_all(rt, registered):
    registered()
    with pytest.raises(Refused, match=refusal("bc_mass_scope")):
        make(rt, {"type": "role", "role": "volunteer"}, strategy=Strategy.MASS_TAG)


def test_scheduled_broadcast_waits_and_can_be_cancelled(rt, registered):
    person = registered()
    made = make(rt, {"type": "all"}, send_at=utcnow() + timedelta(hours=1))
    assert broadcasts.start_due(rt) == []
    cancel_it(rt, made.id)
    assert broadcasts.start_due(rt, now=utcnow() + timedelta(hours=2)) == []
    rt.dispatcher.run()
    assert rows(rt) == [] and person.pushes() == []
    with pytest.raises(Refused, match=refusal("bc_already")):
        cancel_it(rt, made.id)


def test_cancel_while_sending_withdraws_what_is_queued(rt, registered):
    people = [registered(f"c{i}") for i in range(3)]
    made = make(rt, {"type": "all"})
    broadcasts.start_due(rt)
    assert cancel_it(rt, made.id) == 3
    rt.dispatcher.run()
    assert {r.status for r in rows(rt)} == {OutboxStatus.CANCELLED}
    assert all(p.pushes() == [] for p in people)


def test_resident_unfollowing_mid_broadcast(rt, registered):
    stay, leave = registered("stay"), registered("leave")
    make(rt, {"type": "all"})
    broadcasts.start_due(rt)
    leave.unfollow()
    rt.dispatcher.run()
    assert sorted(r.status.value for r in rows(rt)) == ["cancelled", "sent"]
    assert len(stay.pushes()) == 1


def test_mass_send_by_community_tag(rt, registered, sim, db):
    sim.settings(report_events=True)
    people = [registered(f"m{i}") for i in range(3)]
    made = make(rt, {"type": "community", "id": community_id(rt)}, strategy=Strategy.MASS_TAG)
    broadcasts.start_due(rt)
    assert all([m["channel"] for m in p.pushes()] == ["mass"] for p in people)
    tags = sim.state()["tags"]
    assert list(tags.values()) == ["金宁社区"]
    deadline = time.monotonic() + 5  # WeChat reports the job to the webhook afterwards
    while time.monotonic() < deadline:
        broadcasts.start_due(rt)  # the periodic job also reconciles early reports
        db.rollback()
        done = db.get(Broadcast, made.id)
        if done.status is BroadcastStatus.DONE:
            break
        time.sleep(0.1)
    assert done.status is BroadcastStatus.DONE
    assert done.mass_result["SentCount"] == "3" and done.mass_result["TotalCount"] == "3"
    # a retry after a crash is refused by WeChat (45065), never delivered twice
    broadcasts._mass_send(rt, made.id)
    assert all(len(p.pushes()) == 1 for p in people)


def test_a_fifth_mass_send_in_a_month_is_refused(rt, registered):
    registered()
    audience = {"type": "community", "id": community_id(rt)}
    for _ in range(4):
        make(rt, audience, strategy=Strategy.MASS_TAG)
    with pytest.raises(Refused, match=refusal("bc_mass_quota")):
        make(rt, audience, strategy=Strategy.MASS_TAG)
    make(rt, audience)  # per-resident notices are not limited


def test_mass_report_that_beats_the_msg_id_is_applied_later(rt, registered):
    from models import PlatformEvent
    registered()
    made = make(rt, {"type": "all"}, strategy=Strategy.MASS_TAG)
    with transaction(rt.sessions) as session:
        session.add(PlatformEvent(event="masssendjobfinish", msg_id="777", status="send success",
                                  payload={"MsgID": "777", "SentCount": "1", "TotalCount": "1"}))
        broadcast = session.get(Broadcast, made.id)
        broadcast.status, broadcast.mass_msg_id = BroadcastStatus.SENDING, "777"
    broadcasts.start_due(rt)
    with rt.sessions() as session:
        done = session.get(Broadcast, made.id)
    assert done.status is BroadcastStatus.DONE and done.mass_result["SentCount"] == "1"
