"""Notifications on the real platform's terms (simulator over HTTP): for every push kind, a
resident who last wrote 3 days ago is reached by a subscription notification or a template
message whose every field the simulator accepts, or the console is told why not."""
from __future__ import annotations

from datetime import timedelta

import pytest
from core import notices
from core.db import transaction
from core.outbox import enqueue, message
from models import OutboxMessage, OutboxStatus, Resident, SubscriptionGrant, utcnow
from tests.delivery_helpers import delivery_config, resident_id, rows, runtime
from tests.test_reports import code_of


@pytest.fixture
def rt(sim, config, engine):
    runtime_ = runtime(delivery_config(config), engine)
    yield runtime_
    runtime_.dispatcher.pool.shutdown()


def silent_for(rt, persona, days: float) -> int:
    """The resident last wrote `days` ago, as the bot and WeChat both see it."""
    persona.age(days)
    rid = resident_id(rt.sessions.kw["bind"], persona.openid)
    with transaction(rt.sessions) as session:
        session.get(Resident, rid).last_message_at = utcnow() - timedelta(days=days)
    return rid


def send(rt, rid: int, kind: str, facts: dict, key: str) -> OutboxMessage:
    with transaction(rt.sessions) as session:
        enqueue(session, rid, kind, message(f"{kind} 的完整内容", facts), key, now=utcnow())
    rt.dispatcher.run()
    return next(r for r in rows(rt) if r.dedup_key == key)


@pytest.mark.parametrize("kind", sorted(notices.DESIGNS))
def test_every_kind_reaches_someone_silent_for_three_days(rt, registered, config, kind):
    alice = registered("alice")
    rid = silent_for(rt, alice, days=3)
    design = notices.DESIGNS[kind]
    row = send(rt, rid, kind, design.facts, f"{kind}:1")
    template = config.wechat.templates.get(kind)
    if template is None:  # answers to a chat with staff exist only inside the window
        assert row.status is OutboxStatus.UNDELIVERABLE and kind in row.last_error
        assert alice.pushes() == []
        return
    assert row.status is OutboxStatus.SENT and row.channel.value == "template", row.last_error
    [card] = alice.pushes()
    assert card["template_id"] == template.id
    assert len(card["fields"]) == len(template.fields)
    assert all(len(f["value"]) <= 20 and "\n" not in f["value"] for f in card["fields"])
    page = notices.page_for(kind, design.facts)
    assert card["url"] == (f"{config.server.public_url}{page}" if page else None)


@pytest.mark.parametrize("kind", sorted(k for k in notices.DESIGNS if k in
                                        ("report_status", "meeting_reminder", "meeting_update",
                                         "timebank_confirm", "timebank_statement", "broadcast")))
def test_a_subscriber_gets_a_subscription_notification_within_the_type_rules(rt, registered, config,
                                                                           engine, kind):
    alice = registered("alice")
    use = config.wechat.subscriptions[kind]
    alice.subscribe(use.id)  # the pop-up: 允许 (the webhook records the grant)
    rid = silent_for(rt, alice, days=3)
    long_text = {**notices.DESIGNS[kind].facts,
                 "note": "这是一段很长的说明，远远超过订阅通知的二十个字限制，必须被截断才能发送",
                 "title": "关于三栋加装电梯费用分摊方案的第二次居民议事会"}
    row = send(rt, rid, kind, long_text, f"{kind}:sub")
    assert row.channel.value == "subscription", row.last_error
    [card] = alice.pushes()
    assert card["channel"] == "subscribe" and card["template_id"] == use.id
    assert any(f["value"].endswith("…") for f in card["fields"])


def test_a_one_time_grant_is_used_up_then_the_template_takes_over(rt, registered, config, engine):
    alice = registered("alice")
    use = config.wechat.subscriptions["meeting_reminder"]
    assert not use.long_term
    alice.subscribe(use.id)
    rid = silent_for(rt, alice, days=3)
    facts = notices.DESIGNS["meeting_reminder"].facts
    assert send(rt, rid, "meeting_reminder", facts, "m:1").channel.value == "subscription"
    assert send(rt, rid, "meeting_reminder", facts, "m:2").channel.value == "template"
    with transaction(rt.sessions) as session:
        grant = session.get(SubscriptionGrant, (rid, use.id))
        assert grant.remaining == 0


def test_a_revoked_subscription_falls_back_to_the_template(rt, registered, config):
    alice = registered("alice")
    use = config.wechat.subscriptions["report_status"]
    alice.subscribe(use.id)
    alice.revoke(use.id)  # switched off in WeChat's settings: the change event arrives
    rid = silent_for(rt, alice, days=3)
    row = send(rt, rid, "report_status", notices.DESIGNS["report_status"].facts, "r:1")
    assert row.channel.value == "template"


def test_the_platform_refuses_a_grant_the_bot_still_believes_in(rt, registered, config, sim):
    alice = registered("alice")
    use = config.wechat.subscriptions["report_status"]
    rid = silent_for(rt, alice, days=3)
    with transaction(rt.sessions) as session:  # a grant the platform never gave (43101)
        session.add(SubscriptionGrant(resident_id=rid, template_id=use.id, long_term=True, remaining=0,
                                      updated_at=utcnow()))
    row = send(rt, rid, "report_status", notices.DESIGNS["report_status"].facts, "r:2")
    assert row.status is OutboxStatus.SENT and row.channel.value == "template"
    with transaction(rt.sessions) as session:
        assert session.get(SubscriptionGrant, (rid, use.id)) is None


def test_a_report_resolved_after_three_days_silence_reaches_the_reporter_with_its_page(
        rt, registered, sim, config):
    alice = registered("alice")
    assert "描述" in alice.say("报事")
    alice.say("3栋楼道灯坏了")
    alice.say("跳过")
    alice.say("3栋")
    alice.say("1")
    code = code_of(alice.say("1"))
    worker = sim.persona("网格员", openid="demo-gridworker-jinning-1")
    worker.follow()
    worker.say("取消")
    silent_for(rt, alice, days=3)
    worker.say(f"接单 {code}")
    worker.say(f"办结 {code} 灯泡已更换，谢谢您的反映")
    worker.say("跳过")
    rt.dispatcher.run()
    cards = [m for m in alice.pushes() if m["channel"] == "template"]
    assert cards and all(c["url"] == f"{config.server.public_url}/my/reports/{code}" for c in cards)
    statuses = {f["value"] for c in cards for f in c["fields"] if f["label"] == "处理状态"}
    assert statuses == {"已受理", "已办结"}  # sent in parallel: the order on the phone may vary
    assert all(f["value"] == code for c in cards for f in c["fields"] if f["label"] == "工单编号")


def test_undeliverable_pushes_show_their_reason_in_the_console(rt, registered, config, app_client):
    alice = registered("alice")
    rid = silent_for(rt, alice, days=3)
    send(rt, rid, "handoff_reply", {}, "h:1")
    page = app_client("t-staff").get("/console/outbox?status=undeliverable").get_data(as_text=True)
    assert "handoff_reply" in page or "人工服务回复" in page
    assert "no subscription notification or template" in page


@pytest.fixture
def app_client(config, engine):
    from linli.app import create_app
    from tests.console_helpers import Console, add_accounts

    add_accounts(config)
    app = create_app(config)

    def signed_in(username: str) -> Console:
        console = Console(app.test_client())
        console.login(username)
        return console
    return signed_in


def test_a_reminder_for_a_sign_up_made_a_week_ago_arrives_as_a_card(rt, registered, sim, config):
    """The bot still thinks the window is open; WeChat says 45015; the template takes over."""
    from scheduler import reminders
    from tests.meeting_helpers import make_meeting_committed

    meeting = make_meeting_committed(config, starts_at=utcnow() + timedelta(hours=24, minutes=1))
    alice = registered("alice")
    alice.say("议事会")
    alice.say("报名 1")
    assert "报名成功" in alice.say("1")
    alice.age(7)  # a week of silence, as the platform sees it
    later = utcnow() + timedelta(minutes=2)
    reminders.sweep(rt.sessions, later)
    rt.dispatcher.run(now=later)
    [card] = [m for m in alice.pushes() if m["channel"] == "template"]
    assert card["template_id"] == config.wechat.templates["meeting_reminder"].id
    assert card["url"] == f"{config.server.public_url}/my/meetings/{meeting}"
    shown = {f["label"]: f["value"] for f in card["fields"]}
    assert shown["活动名称"] == "加装电梯议事会" and len(shown["签到码"]) == 6
