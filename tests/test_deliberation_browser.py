"""五步议事 in the console on a phone (headless Chromium, 390×844): a resident's topic opened
for opinions, an opinion seen, decisions typed, an item finished and the result publicised,
with nothing wider than the screen."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from tests.console_helpers import add_accounts
from tests.test_console_browser import desk, shoot, sign_in  # noqa: F401 - shared fixtures
from tests.test_simulator_page import browser  # noqa: F401 - shared fixture


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_topic_steps_on_a_phone(desk, sim, registered, config):  # noqa: F811
    add_accounts(config)
    lin, wu = registered("林姨"), registered("吴叔")
    code = re.search(r"YT\d+", lin.say("我有建议 3栋想加装电梯，希望社区组织大家商量费用")).group(0)
    wu.say(f"附议 {code}")
    desk.set_viewport_size({"width": 390, "height": 844})
    sign_in(desk)
    desk.goto("/console/topics")
    expect(desk.locator("#topics")).to_contain_text(code)
    assert fits(desk)
    desk.click(f"text={code}")
    expect(desk.locator("#support")).to_have_text("1")
    desk.fill("input[name=days]", "3")
    desk.click("#open-opinions")
    expect(desk.locator(".flash.ok")).to_contain_text(code)
    assert "已记录" in wu.say(f"意见 {code} 同意，按楼层分摊")
    desk.reload()
    expect(desk.locator("#opinions")).to_contain_text("按楼层分摊")
    expect(desk.locator("#opinion-summary")).to_contain_text("同意 1")
    due = (sim_today(config) + timedelta(days=7)).isoformat()
    desk.fill("#decision-items", f"报送加装电梯方案｜业委会｜{due}\n公示费用分摊表｜物业｜{due}")
    desk.click("#decide")
    expect(desk.locator("#items")).to_contain_text("报送加装电梯方案")
    assert fits(desk)
    row = desk.locator("#items tbody tr").first
    row.locator("input[name=note]").fill("方案已报街道")
    row.locator("button[value='1']").click()
    expect(desk.locator("#items tbody tr").first).to_contain_text("已完成")
    desk.click("#publicise")
    expect(desk.locator(".flash.ok")).to_contain_text("已公示")
    shoot(desk, "topic-phone")
    assert fits(desk)


def sim_today(config):
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).astimezone(config.tz).date()


def test_a_resident_supports_gives_an_opinion_and_votes_on_the_page(browser, sim, registered, config,  # noqa: F811
                                                                     bot_server):
    import re as re_

    from core.clock import SYSTEM
    from core.db import make_engine, make_session_factory, transaction
    from domain.deliberation import decisions, topics, votes
    from domain.unit import Unit
    from models import Ballot, Meeting, MeetingType, Opinion, Topic
    from tests.meeting_helpers import STAFF, make_meeting
    from tests.test_resident_pages import sign_in_as

    lin, wu = registered("林姨"), registered("吴叔")
    code = re_.search(r"YT\d+", lin.say("我有建议 3栋想加装电梯，希望社区组织大家商量费用")).group(0)
    engine = make_engine(config.database.url)
    try:
        with transaction(make_session_factory(engine)) as session:
            uow = Unit(session, config, SYSTEM)
            topic = session.scalar(select(Topic).where(Topic.code == code))
            topics.open_opinions(uow, STAFF, topic, days=3)
            vote_code = votes.open_vote(uow, STAFF, topic, question="是否加装电梯", options=["同意", "反对"],
                                        electorate="household", closes_at=uow.now + timedelta(days=2)).code
            meeting = session.get(Meeting, make_meeting(uow, type=MeetingType.JOINT, title="电梯四方联席会议"))
            decisions.schedule(uow, STAFF, topic, meeting)
    finally:
        engine.dispose()
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  base_url=bot_server.url)
    phone = context.new_page()
    phone.goto(f"/topics/{code}")
    sign_in_as(phone, wu)
    expect(phone.locator("#status")).to_have_text("待上会")
    expect(phone.locator("#meeting")).to_contain_text("电梯四方联席会议")
    phone.click("#support")
    expect(phone.locator("main")).to_contain_text("共 1 人支持")
    phone.goto(f"/topics/{code}")
    expect(phone.locator("#supported")).to_be_visible()
    phone.check("input[value=agree]")
    phone.fill("#opinion textarea", "同意，按楼层分摊费用")
    phone.click("#opinion button")
    expect(phone.locator("main")).to_contain_text("已记录您的意见")
    phone.goto(f"/topics/{code}")
    phone.click(f"#vote-{vote_code} button[value='1']")
    expect(phone.locator("main")).to_contain_text("已记录您的投票")
    phone.goto(f"/topics/{code}")
    expect(phone.locator(f"#vote-{vote_code}")).to_contain_text("您已投票")
    assert fits(phone)
    shoot(phone, "resident-topic")
    context.close()
    with make_session_factory(make_engine(config.database.url))() as session:
        assert session.scalar(select(Opinion.text)) == "同意，按楼层分摊费用"
        assert len(session.scalars(select(Ballot)).all()) == 1
