"""The console end to end in headless Chromium: sign in, triage a report (the resident's
notification reaches the simulator), publish a meeting and watch its notice go out,
approve volunteer hours, download an Excel ledger and read its rows."""
from __future__ import annotations

import io
import threading
import time

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from models import Resident, ResidentRole, utcnow
from scheduler import broadcasts
from tests.console_helpers import PASSWORD, add_accounts
from tests.test_reminders import rt  # noqa: F401 - shared fixture
from tests.test_reports import file_report
from tests.test_simulator_page import ARTIFACTS, browser  # noqa: F401 - shared fixture
from tests.test_timebank import log


@pytest.fixture
def desk(browser, bot_server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                  accept_downloads=True, base_url=bot_server.url)
    page = context.new_page()
    yield page
    context.close()


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)


def sign_in(page, username: str = "t-staff") -> None:
    page.goto("/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def send_in_background(runtime_, stop: threading.Event) -> threading.Thread:
    """What the scheduler does every few seconds: start due broadcasts, dispatch the outbox."""
    def loop():
        while not stop.is_set():
            broadcasts.start_due(runtime_)
            runtime_.dispatcher.run(budget_seconds=1)
            time.sleep(0.3)
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def test_staff_day_in_the_console(desk, sim, registered, rt, config, engine):  # noqa: F811
    add_accounts(config)
    alice = registered("alice", "13800000001")
    code = file_report(alice)
    worker = sim.persona("网格员", openid="demo-gridworker-jinning-1")
    worker.follow()
    worker.say("取消")  # opens the 48-hour window for customer-service messages
    vol = registered("vol", "13811112222", call="vol")
    with engine.begin() as conn:
        conn.execute(ResidentRole.__table__.insert().values(
            resident_id=conn.execute(select(Resident.id).where(Resident.openid == vol.openid)).scalar(),
            role="volunteer", granted_by="test", granted_at=utcnow()))
    record = log(vol)
    for i in range(3):
        registered(f"neighbour{i}")

    sign_in(desk)
    expect(desk.locator("h1")).to_contain_text("概览")
    expect(desk.locator("#open-total")).to_have_text("1")
    desk.wait_for_function("document.querySelector('#chart-category canvas') !== null")
    shoot(desk, "dashboard")

    # Triage: accept, then assign to the grid worker; both people hear about it.
    desk.click("text=报事")
    desk.click(f"text={code}")
    desk.click("#accept")
    expect(desk.locator(".flash")).to_contain_text("已更新")
    desk.select_option("#assign-target", label="金宁第一网格 网格员")
    desk.click("#assign")
    expect(desk.locator(".flash")).to_contain_text("已转派")
    expect(desk.locator(".timeline")).to_contain_text("转派给金宁第一网格 网格员")
    shoot(desk, "report")
    rt.dispatcher.run()
    assert any("已受理" in m["text"] for m in alice.pushes())
    assert any(code in m["text"] for m in worker.pushes())

    # Publish a meeting and watch its notice go out.
    desk.goto("/console/meetings/new")
    desk.fill("input[name=title]", "加装电梯议事会")
    desk.fill("textarea[name=agenda]", "3栋加装电梯费用分摊")
    desk.fill("input[name=place]", "金宁党群服务中心")
    desk.fill("input[name=starts_at]", "2030-05-01T19:30")
    desk.fill("input[name=ends_at]", "2030-05-01T21:00")
    desk.fill("input[name=capacity]", "30")
    desk.fill("input[name=reports]", code)
    desk.click("#meeting-form button[type=submit]")
    expect(desk.locator(".flash")).to_contain_text("草稿")
    desk.click("#publish")
    expect(desk.locator("#meeting-status")).to_have_text("已发布")
    shoot(desk, "meeting")
    desk.goto("/console/broadcasts")
    desk.click("text=加装电梯议事会")
    stop = threading.Event()
    sender = send_in_background(rt, stop)
    try:
        expect(desk.locator("#progress")).to_have_attribute("data-percent", "100", timeout=30000)
        expect(desk.locator("#b-status")).to_have_text("已完成", timeout=15000)
    finally:
        stop.set()
        sender.join()
    shoot(desk, "broadcast")
    assert any("加装电梯议事会" in m["text"] and "19:30" in m["text"] for m in alice.pushes())

    # Approve the volunteer's hours.
    desk.goto("/console/timebank")
    expect(desk.locator("#records-form")).to_contain_text(record)
    desk.check(f"#records-form input[name=ids][value='{record[1:]}']")
    desk.click("#approve-selected")
    expect(desk.locator(".flash")).to_contain_text("已处理1条")
    shoot(desk, "timebank")
    rt.dispatcher.run()
    assert any("2小时" in m["text"] for m in vol.pushes())

    # Download the month's volunteer-hours ledger and read it back.
    desk.goto("/console/exports")
    month = desk.locator("form[data-kind=hours] input[name=month]").input_value()
    with desk.expect_download() as caught:
        desk.click("#export-hours-xlsx")
    sheet = load_workbook(io.BytesIO(open(caught.value.path(), "rb").read())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:6] == ("序号", "服务日期", "志愿者", "服务内容", "服务对象", "时长（小时）")
    assert rows[2][2] == "vol" and rows[2][3] == "上门探访" and rows[2][5] == 2 and rows[2][6] == "t-staff"
    assert month in rows[0][0]
    shoot(desk, "exports")

    # The same console on a phone.
    desk.set_viewport_size({"width": 390, "height": 844})
    desk.goto("/console/reports?status=all")
    expect(desk.locator("table.list")).to_contain_text(code)
    shoot(desk, "phone-reports")


def test_family_links_and_flagged_hours_in_the_console(desk, sim, registered, config, engine):
    """A phone-sized console: staff confirm a declared family member; 全选 leaves the record
    flagged 家属 for one-by-one review."""
    add_accounts(config)
    vol = registered("vol", "13811112222", call="vol")
    registered("mum", "13700001111", call="陈姨")
    with engine.begin() as conn:
        conn.execute(ResidentRole.__table__.insert().values(
            resident_id=conn.execute(select(Resident.id).where(Resident.openid == vol.openid)).scalar(),
            role="volunteer", granted_by="test", granted_at=utcnow()))
    assert "社区核实后" in vol.say("家人 13700001111 母亲")
    kin = log(vol, who="13700001111")
    plain = log(vol, who="跳过", day="前天")

    desk.set_viewport_size({"width": 390, "height": 844})
    sign_in(desk)
    desk.goto("/console/timebank")
    expect(desk.locator("body")).to_contain_text("核实方式：服务对象确认＋社工审核")
    expect(desk.locator("#family-links tr", has_text="陈姨")).to_contain_text("母亲")
    flagged = desk.locator(f"#records-form tr:has(input[value='{kin[1:]}'])")
    expect(flagged).to_contain_text("家属")
    desk.check("#records-form input.check-all")
    expect(desk.locator(f"#records-form input[value='{kin[1:]}']")).not_to_be_checked()
    expect(desk.locator(f"#records-form input[value='{plain[1:]}']")).to_be_checked()
    desk.click("#approve-selected")
    expect(desk.locator(".flash")).to_contain_text("已处理1条")
    expect(desk.locator(".flash")).to_contain_text(f"有提示的 {kin} 未通过")
    expect(desk.locator("#records-form")).to_contain_text(kin)
    expect(desk.locator(f"#records-form tr:has(input[value='{kin[1:]}'])")).to_contain_text("待服务对象确认、待社工审核")
    shoot(desk, "timebank-flags")
    desk.locator("#family-links tr", has_text="陈姨").locator("button[value=confirm]").click()
    expect(desk.locator(".flash")).to_contain_text("已保存")
    assert "转赠" in vol.say("家人") and "已确认" in vol.last_reply
