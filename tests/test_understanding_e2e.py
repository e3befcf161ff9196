"""Understanding residents end to end: conversations through the simulator over HTTP (signed,
encrypted), and the human handoff as staff see it in the console, in headless Chromium."""
from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select, update

from models import Handoff, HandoffStatus, Report, Resident, utcnow
from tests.console_helpers import add_accounts
from tests.test_console_browser import desk, shoot, sign_in  # noqa: F401 - shared fixtures
from tests.test_reminders import rt  # noqa: F401 - shared fixture
from tests.test_simulator_page import browser  # noqa: F401 - shared fixture

def test_free_words_and_voice_through_the_simulator(sim, registered, db):
    p = registered("陈伯")
    assert "楼道灯坏了好几天了" in p.voice("楼道灯坏了好几天了")
    assert "照片" in p.say("好的")
    assert "已补充" in p.say("灯在3楼")
    p.say("跳过")
    p.say("跳过")
    p.say("对")
    assert "提交成功" in p.say("确认")
    assert db.scalar(select(Report.description)) == "楼道灯坏了好几天了；灯在3楼"
    assert "不客气" in p.say("唔该晒")
    assert "0757-8555-0101" in p.say("社区电话几多号")
    assert "离开" in (p.say("报事") and p.say("我的報名"))
    assert "还没有报名" in p.say("1")


def test_misunderstandings_and_a_staff_answer_in_the_console(desk, sim, registered, rt, config, db):  # noqa: F811
    add_accounts(config)
    p = registered("王姨")
    p.say("asdf")
    p.say("qwer")
    assert "转接" in p.say("zxcv")
    p.say("我家门口的路灯坏了三天了")
    p.say("在5栋后面")
    handoff = db.scalar(select(Handoff))

    desk.set_viewport_size({"width": 390, "height": 844})  # a phone
    sign_in(desk)
    expect(desk.locator("#nav-chats .badge")).to_have_text("2")
    desk.goto("/console/chats")
    expect(desk.locator("#chats")).to_contain_text("在5栋后面")
    expect(desk.locator("#chats .badge")).to_have_text("2")
    desk.click("#chats a")
    expect(desk.locator("#messages")).to_contain_text("我家门口的路灯坏了三天了")
    expect(desk.locator(".hint")).to_contain_text("48小时")
    desk.fill("#answer-form textarea", "收到，已安排网格员今天下午去看")
    desk.click("#answer-form button")
    expect(desk.locator(".flash")).to_contain_text("已发送")
    expect(desk.locator("#messages")).to_contain_text("已安排网格员")
    shoot(desk, "chat")
    rt.dispatcher.run()
    assert any("已安排网格员" in m["text"] for m in p.pushes())
    desk.goto("/console/chats")
    expect(desk.locator("#chats .badge")).to_have_count(0)  # read when opened

    # Two days of silence: WeChat no longer accepts an answer, and the page says so.
    db.rollback()
    db.execute(update(Resident).where(Resident.openid == p.openid)
               .values(last_message_at=utcnow() - timedelta(hours=49)))
    db.commit()
    desk.goto(f"/console/chats/{handoff.id}")
    expect(desk.locator("#window-closed")).to_contain_text("48小时")
    expect(desk.locator("#answer-form")).to_have_count(0)
    desk.once("dialog", lambda dialog: dialog.accept())
    desk.click("text=结束对话")
    expect(desk.locator(".flash")).to_contain_text("已结束")
    db.rollback()
    assert db.get(Handoff, handoff.id).status is HandoffStatus.CLOSED
    assert "您好" in p.say("你好")  # back with the bot, not forwarded
