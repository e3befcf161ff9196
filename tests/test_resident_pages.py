"""Resident pages in headless Chromium at phone width, signed in through the simulator's
WeChat sign-in: open a report from its notification card and answer 已解决 + a rating, see
a meeting with its check-in QR and cancel the sign-up, read a notice and my hours, subscribe
to notifications through the JS-SDK button; another resident's links are not found."""
from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy import select

from core.wechat_api import SignInRefused, signed_in_openid
from models import Report, Resident, Signup, SignupStatus, SubscriptionGrant
from scheduler import broadcasts
from tests.meeting_helpers import make_meeting_committed
from tests.test_broadcasts import community_id, make
from tests.test_console_browser import shoot
from tests.test_notifications import rt, silent_for  # noqa: F401 - shared fixture
from tests.test_reports import code_of
from tests.test_simulator_page import browser  # noqa: F401 - shared fixture
from tests.test_timebank import log


@pytest.fixture
def phone(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def sign_in_as(page, persona) -> None:
    """WeChat's sign-in page (simulated): which follower is holding the phone."""
    expect(page.locator("#signin")).to_be_visible()
    page.check(f"input[value='{persona.openid}']")
    page.click("#signin button")


def resolved_report(alice, sim) -> str:
    alice.say("报事")
    alice.say("3栋楼道灯坏了")
    alice.say("跳过")
    alice.say("3栋")
    alice.say("1")
    code = code_of(alice.say("1"))
    worker = sim.persona("网格员", openid="demo-gridworker-jinning-1")
    worker.follow()
    worker.say("取消")
    worker.say(f"接单 {code}")
    worker.say(f"办结 {code} 灯泡已更换")
    worker.say("跳过")
    return code


def test_a_resident_day_on_the_pages(phone, sim, registered, rt, config, db, bot_server):  # noqa: F811
    alice = registered("alice")
    code = resolved_report(alice, sim)
    silent_for(rt, alice, days=3)
    rt.dispatcher.run()
    card = next(m for m in reversed(alice.pushes()) if m["channel"] == "template")

    # The card's 详情 link: WeChat signs alice in, the page offers 已解决 / 未解决.
    phone.goto(card["url"])
    sign_in_as(phone, alice)
    expect(phone.locator("h1")).to_contain_text(code)
    expect(phone.locator("#timeline")).to_contain_text("灯泡已更换")
    shoot(phone, "resident-report")
    phone.click("#answer button[value=yes]")
    expect(phone.locator("#message")).to_contain_text("谢谢确认")
    phone.goto(f"{bot_server.url}/my/reports/{code}")
    phone.click("#rating button[value='5']")
    expect(phone.locator("#message")).to_contain_text("感谢您的评价")
    db.rollback()
    assert db.scalar(select(Report.rating).where(Report.code == code)) == 5

    # A meeting: check-in code and QR, then cancel from the page.
    meeting = make_meeting_committed(config)
    alice.say("议事会")
    alice.say("报名 1")
    assert "报名成功" in alice.say("1")
    db.rollback()
    phone.goto(f"{bot_server.url}/my/meetings/{meeting}")
    expect(phone.locator("#signup .code")).to_have_text(
        db.scalar(select(Signup.checkin_code).where(Signup.meeting_id == meeting)))
    expect(phone.locator("#signup img.qr")).to_be_visible()
    shoot(phone, "resident-meeting")
    phone.once("dialog", lambda d: d.accept())
    phone.click("#cancel-signup")
    expect(phone.locator("#message")).to_contain_text("已取消报名")
    db.rollback()
    assert db.scalar(select(Signup.status).where(Signup.meeting_id == meeting)) is SignupStatus.CANCELLED

    # A notice in full, and my hours.
    made = make(rt, {"type": "community", "id": community_id(rt)})
    broadcasts.start_due(rt)
    phone.goto(f"{bot_server.url}/notices/{made.id}")
    expect(phone.locator("#notice")).to_contain_text("明天9点至12点停水")
    phone.goto(f"{bot_server.url}/my/hours")
    expect(phone.locator("#balance")).to_contain_text("0")
    shoot(phone, "resident-hours")

    # Subscribe through WeChat's button (the JS-SDK signature is checked by the simulator).
    phone.goto(f"{bot_server.url}/my/subscriptions")
    first = config.wechat.subscriptions["report_status"].id
    phone.locator(f"[data-template='{first}'] wx-open-subscribe button").click()
    expect(phone.locator("#subscribe")).to_be_visible()
    phone.click("#subscribe button[value=allow]")
    expect(phone.locator(f"[data-template='{first}'] .status")).to_have_text("已订阅")
    shoot(phone, "resident-subscriptions")
    db.rollback()
    assert db.scalar(select(SubscriptionGrant).where(SubscriptionGrant.template_id == first)) is not None

    # Someone else, in another community: alice's report and notice do not exist for them.
    bob = sim.persona("bob")
    bob.follow(scene="xianhu")
    for answer in ("1", "跳过", "1座", "跳过"):
        bob.say(answer)
    phone.context.clear_cookies()
    phone.goto(f"{bot_server.url}/my/reports/{code}")
    sign_in_as(phone, bob)
    expect(phone.locator("#message")).to_contain_text("没有找到")
    for path in (f"/notices/{made.id}", f"/my/meetings/{meeting}"):
        response = phone.goto(f"{bot_server.url}{path}")
        assert response.status == 404, path


def test_a_bad_or_used_sign_in_code_is_refused(sim, registered, config, bot_server):
    alice = registered("alice")
    answer = requests.post(f"{config.wechat.oauth_base_url}/connect/oauth2/authorize", allow_redirects=False,
                           data={"openid": alice.openid, "redirect_uri": f"{bot_server.url}/my/signin"})
    code = answer.headers["Location"].split("code=")[1].split("&")[0]
    assert signed_in_openid(config, code) == alice.openid
    with pytest.raises(SignInRefused):
        signed_in_openid(config, code)  # a code works once
    with pytest.raises(SignInRefused):
        signed_in_openid(config, "made-up")
    assert requests.get(f"{bot_server.url}/my/signin?code=made-up&state=x").status_code == 400


def test_the_elder_confirms_a_service_and_takes_a_transfer_on_the_page(phone, sim, registered, config, db,
                                                                       bot_server, engine):
    """From 我的时间 on the phone: confirm the volunteer's hour, take what family offered."""

    from core.clock import SYSTEM
    from core.db import make_session_factory, transaction
    from domain.actor import Actor
    from domain.timebank import family, records
    from domain.unit import Unit
    from models import Account, Resident

    vol, mum = registered("vol", "13811112222", call="张敏"), registered("mum", "13700001111")
    with transaction(make_session_factory(engine)) as session:
        uow = Unit(session, config, SYSTEM)
        giver, elder = (session.scalars(select(Resident).where(Resident.openid == p.openid)).one()
                        for p in (vol, mum))
        records.proxy_log(uow, Actor.cli("t"), giver, service_type="上门探访", day=uow.now.date(), minutes=120)
        family.decide_link(uow, Actor.cli("t"), family.declare(uow, giver, elder, "母亲"), True)
    assert "预留1小时" in vol.say("转赠 13700001111 1")
    served = log(vol, who="13700001111")
    phone.goto(f"{bot_server.url}/my/hours")
    sign_in_as(phone, mum)
    phone.locator("form[action$='/records/%s'] button[value=confirm]" % served[1:]).click()
    expect(phone.locator("#message")).to_contain_text("社工审核后")
    phone.goto(f"{bot_server.url}/my/hours")
    offer = phone.locator(".card.offer")
    expect(offer).to_contain_text("张敏转给您1小时")
    shoot(phone, "resident-hours-offer")
    offer.locator("button[value=accept]").click()
    expect(phone.locator("#message")).to_contain_text("已收下1小时")
    phone.goto(f"{bot_server.url}/my/hours")
    expect(phone.locator("#balance")).to_contain_text("1")
    expect(phone.locator(".card.offer")).to_have_count(0)
    db.rollback()
    assert db.scalar(select(Account.balance).join(Resident, Resident.id == Account.owner_id)
                     .where(Resident.openid == mum.openid)) == 60


def test_a_building_head_works_the_order_from_the_cards_link(phone, sim, registered, rt, db, bot_server,  # noqa: F811
                                                            engine):
    """楼道长 has no console login: the 派单 card opens /tasks/<code>, where he accepts and
    finishes it; the reporter hears each step. Nobody else can open it."""
    from models import Building, ResidentRole, utcnow

    head = registered("王伯", "13800000103", call="王伯")
    with engine.begin() as conn:
        rid = conn.execute(select(Resident.id).where(Resident.openid == head.openid)).scalar()
        conn.execute(ResidentRole.__table__.insert().values(resident_id=rid, role="building_head",
                                                            granted_by="test", granted_at=utcnow()))
        three = conn.execute(select(Building.id).where(Building.name == "3栋")).scalar()
        conn.execute(Resident.__table__.update().where(Resident.id == rid).values(building_id=three))
    alice, stranger = registered("alice"), registered("stranger")
    alice.say("报事")
    alice.say("3栋楼道灯坏了")
    alice.say("跳过")
    alice.say("3栋")
    alice.say("1")
    code = code_of(alice.say("1"))
    silent_for(rt, head, days=3)  # outside the chat window: the 派单 goes out as a card
    rt.dispatcher.run()
    card = next(m for m in head.pushes() if m["channel"] == "template" and code in str(m))
    assert card["url"].endswith(f"/tasks/{code}")
    phone.goto(card["url"])
    sign_in_as(phone, head)
    expect(phone.locator("#task")).to_contain_text("楼道灯坏了")
    expect(phone.locator("#due")).to_contain_text("前接单")
    phone.click("#accept")
    expect(phone.locator("#message")).to_contain_text(f"已接单 {code}")
    phone.goto(card["url"])
    phone.fill("textarea[name=note]", "已换灯泡")
    shoot(phone, "resident-task")
    phone.click("#finish")
    expect(phone.locator("#message")).to_contain_text("已办结")
    db.rollback()
    assert db.scalar(select(Report.status).where(Report.code == code)).value == "resolved"
    rt.dispatcher.run()
    assert any("已换灯泡" in str(m) for m in alice.pushes())
    other = phone.context.browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    other.goto(f"{bot_server.url}/tasks/{code}")
    sign_in_as(other, stranger)
    expect(other.locator("body")).to_contain_text("没有找到")
    other.context.close()
