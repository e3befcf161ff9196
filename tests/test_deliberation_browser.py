"""五步议事 in the console on a phone (headless Chromium, 390×844): a resident's topic opened
for opinions, an opinion seen, decisions typed, an item finished and the result publicised,
with nothing wider than the screen."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

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
