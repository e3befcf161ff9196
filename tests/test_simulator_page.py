"""The /simulator page in a real headless browser: follow, chat, tap the menu."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from cli.menu import publish_menu
from core.config import PROJECT_ROOT

CHROMIUM = os.environ.get("LINLI_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (it installs Debian's chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 400, "height": 844}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def test_chat_as_a_new_resident(sim, sim_server, page, config):
    publish_menu(config)  # what `python -m linli create-menu` does

    page.goto(f"{sim_server.url}/simulator")
    page.fill("#nickname", "阿珍")
    page.click("#add")
    expect(page.locator("#persona")).to_contain_text("阿珍")
    page.fill("#scene", "jinning")
    page.click("#follow")
    expect(page.locator("#chat")).to_contain_text("这里是【金宁社区】的服务号")
    for answer, then in (("1", "怎么称呼"), ("阿珍", "楼栋")):
        page.fill("#text", answer)
        page.press("#text", "Enter")
        expect(page.locator("#chat")).to_contain_text(then)
    page.fill("#text", "3栋2单元")
    page.press("#text", "Enter")
    expect(page.locator("#chat")).to_contain_text("手机号码")
    page.fill("#text", "13812345678")
    page.click("button[type=submit]")
    expect(page.locator("#chat")).to_contain_text("138****5678")
    page.locator("#menubar > div").filter(has_text=re.compile("^我的")).click()
    page.locator(".sub div", has_text="使用帮助").click()
    expect(page.locator("#chat")).to_contain_text("使用说明")
    page.select_option("#place", label="金宁社区党群服务中心")  # the map picker's places
    page.click("#loc")
    expect(page.locator("#chat")).to_contain_text("位置：丹灶镇金宁社区党群服务中心")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "simulator.png"), full_page=True)
