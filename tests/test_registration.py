"""Registration and profile, played as conversations through the simulator."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select, update

from models import Community, Conversation, Resident, ResidentRole, Role


def test_follow_register_and_profile(sim, resident):
    alice = sim.persona("alice")
    reply = alice.follow()
    assert "欢迎关注" in reply and "1. 金宁社区" in reply and "4. 河岗社区" in reply
    assert "已为您登记为【金宁社区】居民" in alice.say("1")
    assert "手机号码" in alice.say("3栋2单元")
    done = alice.say("138 1234 5678")
    assert "登记完成" in done and "138****5678" in done and "13812345678" not in done
    row = resident(alice.openid)
    assert row.mobile == "13812345678" and row.address == "3栋2单元"
    assert row.registered_at is not None and row.building_id is not None  # matched "3栋"
    profile = alice.say("我的信息")
    assert "金宁社区" in profile and "138****5678" in profile and "1. 修改社区" in profile


def test_qr_scene_binds_community_and_skips_the_question(sim, resident, db):
    bob = sim.persona("bob")
    reply = bob.follow(scene="hegang")
    assert "【河岗社区】" in reply and "楼栋" in reply
    hegang = db.scalars(select(Community).where(Community.scene_code == "hegang")).one()
    assert resident(bob.openid).community_id == hegang.id


def test_first_message_without_follow_event_starts_registration(sim, resident):
    carol = sim.persona("carol")
    reply = carol.say("你好")
    assert "请先选择您所在的社区" in reply
    assert resident(carol.openid) is not None


@pytest.mark.parametrize("answer, complaint", [
    ("9", "没有找到这个社区"), ("不存在的社区", "没有找到这个社区")])
def test_bad_community_answers_reask(sim, answer, complaint):
    p = sim.persona()
    p.follow()
    reply = p.say(answer)
    assert complaint in reply and "1. 金宁社区" in reply


def test_community_by_name_and_traditional_characters(sim, resident):
    p = sim.persona()
    p.follow()
    assert "【仙湖社区】" in p.say("仙湖")
    p2 = sim.persona()
    p2.follow()
    assert "【西联社区】" in p2.say("西聯")


@pytest.mark.parametrize("address", ["3", "长" * 31, "   "])
def test_address_length_is_validated(sim, resident, address):
    p = sim.persona()
    p.follow(scene="jinning")
    reply = p.say(address)
    assert "2到30个字" in reply or "需要文字" in reply
    assert resident(p.openid).address is None


@pytest.mark.parametrize("mobile", ["12812345678", "1381234567", "138123456789", "电话"])
def test_bad_mobile_numbers_are_refused(sim, resident, mobile):
    p = sim.persona()
    p.follow(scene="jinning")
    p.say("5栋")
    assert "格式不对" in p.say(mobile)
    assert resident(p.openid).mobile is None and resident(p.openid).registered_at is None


STEPS = [[], ["3栋2单元"]]  # what to say after following via QR to reach each step


@pytest.mark.parametrize("path", STEPS + [["__profile__"]])
@pytest.mark.parametrize("word", ["取消", "退出"])
def test_cancel_works_at_every_step(sim, registered, resident, db, path, word):
    if path == ["__profile__"]:
        p = registered()
        p.say("我的信息")
    else:
        p = sim.persona()
        p.follow(scene="jinning")
        for line in path:
            p.say(line)
    assert "已取消" in p.say(word)
    db.rollback()
    assert db.get(Conversation, resident(p.openid).id) is None
    assert "没有进行中的操作" in p.say(word)


@pytest.mark.parametrize("word", ["帮助", "菜单", "幫助"])
@pytest.mark.parametrize("path, prompt", [([], "楼栋"), (["3栋2单元"], "手机号码")])
def test_help_at_every_step_repeats_the_question(sim, path, prompt, word):
    p = sim.persona()
    p.follow(scene="jinning")
    for line in path:
        p.say(line)
    reply = p.say(word)
    assert "您正在：居民登记" in reply and prompt in reply and "取消" in reply
    # the conversation is still there: the answer is taken
    assert "手机号码" in p.say("3栋2单元") or "登记完成" in p.say("跳过")


def test_idle_conversation_times_out(sim, resident, db):
    p = sim.persona()
    p.follow(scene="jinning")
    from models import utcnow
    from datetime import timedelta
    db.execute(update(Conversation).where(Conversation.resident_id == resident(p.openid).id)
               .values(updated_at=utcnow() - timedelta(minutes=31)))
    db.commit()
    reply = p.say("3栋2单元")
    assert "超过30分钟没有回复" in reply
    assert resident(p.openid).address is None  # the stale step did not take the answer


def test_unknown_input_gets_the_numbered_menu(registered):
    p = registered()
    reply = p.say("今天天气怎么样")
    assert "没能看懂" in reply and "1. 我要报事" in reply and "我的信息" in reply
    assert "请用一两句话描述" in p.say("1")


def test_profile_edit_keeps_mobile_on_skip_and_changes_community(registered, resident):
    p = registered(mobile="13912345678")
    p.say("我的信息")
    p.say("3")
    assert "139****5678" in p.say("跳过")
    p.say("1")
    assert "已更新" in p.say("2") and "仙湖社区" in p.last_reply
    assert resident(p.openid).building_id is None


def test_scan_other_community_asks_before_switching(registered, resident):
    p = registered()
    assert "是否改为【西联社区】" in p.scan("xilian")
    assert "保持【金宁社区】不变" in p.say("2")
    # Events are deduplicated by sender + CreateTime: a later scan has a later time.
    p.send(type="scan", scene="xilian", create_time=int(time.time()) + 1)
    assert "【西联社区】" in p.say("1")
    assert "已是【西联社区】居民" in p.send(type="scan", scene="xilian",
                                         create_time=int(time.time()) + 2)


def test_menu_click_starts_fresh(registered):
    p = registered()
    p.say("我的信息")
    reply = p.click("HELP")
    assert "使用说明" in reply


def test_roles_are_never_self_assigned(registered, resident, db):
    p = registered()
    for attempt in ("我是网格员", "设置角色 admin", "grid_worker"):
        p.say(attempt)
    row = resident(p.openid)
    assert row.role_set == {Role.RESIDENT}
    assert db.scalars(select(ResidentRole).where(ResidentRole.resident_id == row.id)).all() == []


def test_voice_recognition_and_plain_voice(registered):
    p = registered()
    assert "1. 我要报事" in p.voice("菜单")
    assert "听不懂语音" in p.voice(None)


def test_voice_without_recognition_mid_conversation_reasks(sim):
    p = sim.persona()
    p.follow(scene="jinning")
    reply = p.voice(None)
    assert "听不懂语音" in reply and "楼栋" in reply


def test_location_events_are_remembered_silently(registered, resident):
    p = registered()
    assert p.send(type="location_event", lat=23.0435, lng=112.9165) is None
    row = resident(p.openid)
    assert row.last_lat == pytest.approx(23.0435) and row.last_lng == pytest.approx(112.9165)


def test_image_when_text_expected_reasks(sim):
    p = sim.persona()
    p.follow(scene="jinning")
    reply = p.send_image()
    assert "需要文字" in reply and "楼栋" in reply


def test_link_and_video_get_a_polite_reply(registered):
    p = registered()
    assert "暂时无法处理" in p.send(type="link", title="看看", url="http://example.invalid")
    assert "暂时无法处理" in p.send(type="video")


def test_resident_rows_keep_utc_timestamps(registered, resident):
    p = registered()
    row = resident(p.openid)
    assert row.followed_at.utcoffset().total_seconds() == 0
    assert db_type_is_resident(row)


def db_type_is_resident(row) -> bool:
    return isinstance(row, Resident)
