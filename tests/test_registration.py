"""Registration and profile, played as conversations (fast tier: in-process, rolled back)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Community, Conversation, Resident, ResidentRole, Role


def test_follow_register_and_profile(chat):
    alice = chat.persona("alice")
    reply = alice.follow()
    assert "欢迎关注" in reply and "1. 金宁社区" in reply and "4. 河岗社区" in reply
    reply = alice.say("1")
    assert "这里是【金宁社区】的服务号" in reply and "保存" in reply and "回复1同意" in reply
    assert "怎么称呼" in alice.say("1")
    assert "楼栋" in alice.say("陈姨")
    assert "手机号码" in alice.say("3栋2单元")
    done = alice.say("138 1234 5678")
    assert "登记完成" in done and "138****5678" in done and "13812345678" not in done
    assert "陈姨" in done
    row = alice.resident
    assert row.mobile == "13812345678" and row.address == "3栋2单元" and row.name == "陈姨"
    assert row.registered_at is not None and row.building_id is not None  # matched "3栋"
    assert row.consent_version and row.consented_at is not None
    profile = alice.say("我的信息")
    assert "金宁社区" in profile and "138****5678" in profile and "1. 修改社区" in profile


def test_qr_scene_binds_community_then_asks_consent(chat, fast_db):
    bob = chat.persona("bob")
    reply = bob.follow(scene="hegang")
    assert "【河岗社区】" in reply and "回复1同意" in reply
    hegang = fast_db.scalars(select(Community).where(Community.scene_code == "hegang")).one()
    assert bob.resident.community_id == hegang.id


def test_declining_consent_keeps_nothing_personal(chat):
    p = chat.persona()
    p.follow(scene="jinning")
    assert "不会保存" in p.say("2")
    row = p.resident
    assert row.consent_version is None and row.name is None and row.address is None
    assert "回复1同意" in p.say("报事")  # reporting asks for consent first


def test_first_message_without_follow_event_starts_registration(chat):
    carol = chat.persona("carol")
    assert "请先选择您所在的社区" in carol.say("你好")
    assert carol.resident is not None


@pytest.mark.parametrize("answer, complaint", [
    ("9", "没有找到这个社区"), ("不存在的社区", "没有找到这个社区"), ("፩", "没有找到这个社区"),
    ("1" * 5000, "没有找到这个社区")])
def test_bad_community_answers_reask(chat, answer, complaint):
    p = chat.persona()
    p.follow()
    reply = p.say(answer)
    assert complaint in reply and "1. 金宁社区" in reply


def test_community_by_name_and_traditional_characters(chat):
    p = chat.persona()
    p.follow()
    assert "【仙湖社区】" in p.say("仙湖")
    p2 = chat.persona()
    p2.follow()
    assert "【西联社区】" in p2.say("西聯")
    p3 = chat.persona()
    p3.follow()
    assert "【金宁社区】" in p3.say("１")  # full-width digit


def _to_address(p):
    p.follow(scene="jinning")
    p.say("1")
    p.say("跳过")


@pytest.mark.parametrize("address", ["3", "长" * 31, "   "])
def test_address_length_is_validated(chat, address):
    p = chat.persona()
    _to_address(p)
    reply = p.say(address)
    assert "2到30个字" in reply or "需要文字" in reply
    assert p.resident.address is None


@pytest.mark.parametrize("mobile", ["12812345678", "1381234567", "138123456789", "电话"])
def test_bad_mobile_numbers_are_refused(chat, mobile):
    p = chat.persona()
    _to_address(p)
    p.say("5栋")
    assert "格式不对" in p.say(mobile)
    assert p.resident.mobile is None and p.resident.registered_at is None


def test_a_mobile_belongs_to_one_resident_per_community(chat):
    chat.registered("first", mobile="13800001111")
    second = chat.persona("second")
    _to_address(second)
    second.say("5栋")
    assert "另一位居民登记" in second.say("13800001111")
    assert second.resident.mobile is None
    assert "登记完成" in second.say("跳过")
    # another community may hold the same number
    third = chat.registered("third", mobile="13800001111", scene="xianhu", address="湖景苑A栋")
    assert third.resident.mobile == "13800001111"


def test_name_is_asked_editable_and_bounded(chat):
    p = chat.persona()
    p.follow(scene="jinning")
    p.say("1")
    assert "20个字以内" in p.say("名" * 21)
    p.say("李伯")
    p.say("3栋")
    p.say("跳过")
    p.say("我的信息")
    assert "怎么称呼" in p.say("2")
    assert "已更新" in p.say("老李") and "老李" in p.last_reply
    assert p.resident.name == "老李"


STEPS = [[], ["1"], ["1", "跳过"], ["1", "跳过", "3栋2单元"]]


@pytest.mark.parametrize("path", STEPS + [["__profile__"]])
@pytest.mark.parametrize("word", ["取消", "退出"])
def test_cancel_works_at_every_step(chat, fast_db, path, word):
    if path == ["__profile__"]:
        p = chat.registered()
        p.say("我的信息")
    else:
        p = chat.persona()
        p.follow(scene="jinning")
        for line in path:
            p.say(line)
    assert "已取消" in p.say(word)
    fast_db.expire_all()
    assert fast_db.get(Conversation, p.resident.id) is None
    assert "没有进行中的操作" in p.say(word)


@pytest.mark.parametrize("word", ["帮助", "菜单", "幫助"])
@pytest.mark.parametrize("path, prompt", [([], "同意"), (["1"], "称呼"), (["1", "跳过"], "楼栋"),
                                          (["1", "跳过", "3栋2单元"], "手机号码")])
def test_help_at_every_step_repeats_the_question(chat, path, prompt, word):
    p = chat.persona()
    p.follow(scene="jinning")
    for line in path:
        p.say(line)
    reply = p.say(word)
    assert "您正在：居民登记" in reply and prompt in reply and "取消" in reply


def test_idle_conversation_times_out(chat, clock):
    p = chat.persona()
    _to_address(p)
    clock.advance(minutes=31)
    reply = p.say("3栋2单元")
    assert "超过30分钟没有回复" in reply
    assert p.resident.address is None  # the stale step did not take the answer


def test_unknown_input_gets_the_numbered_menu(chat):
    p = chat.registered()
    reply = p.say("asdfgh")
    assert "没能看懂" in reply and "1. 我要报事" in reply and "我的信息" in reply
    assert "请用一两句话描述" in p.say("1")


def test_profile_edit_keeps_mobile_on_skip_and_changes_community(chat):
    p = chat.registered(mobile="13912345678")
    p.say("我的信息")
    p.say("4")
    assert "139****5678" in p.say("跳过")
    p.say("1")
    assert "已更新" in p.say("2") and "仙湖社区" in p.last_reply
    assert p.resident.building_id is None


def test_scan_other_community_asks_before_switching(chat):
    p = chat.registered()
    assert "是否改为【西联社区】" in p.scan("xilian")
    assert "保持【金宁社区】不变" in p.say("2")
    p.scan("xilian")
    assert "【西联社区】" in p.say("1")
    assert "已是【西联社区】居民" in p.scan("xilian")


def test_menu_click_starts_fresh(chat):
    p = chat.registered()
    p.say("我的信息")
    assert "使用说明" in p.click("HELP")


def test_roles_are_never_self_assigned(chat, fast_db):
    p = chat.registered()
    for attempt in ("我是网格员", "设置角色 admin", "grid_worker"):
        p.say(attempt)
    row = p.resident
    assert row.role_set == {Role.RESIDENT}
    assert fast_db.scalars(select(ResidentRole).where(ResidentRole.resident_id == row.id)).all() == []


def test_voice_recognition_and_plain_voice(chat):
    p = chat.registered()
    assert "1. 我要报事" in p.voice("菜单")
    assert "没能听清" in p.voice(None)


def test_voice_without_recognition_mid_conversation_reasks(chat):
    p = chat.persona()
    _to_address(p)
    reply = p.voice(None)
    assert "没能听清" in reply and "楼栋" in reply


def test_location_events_are_remembered_silently(chat):
    p = chat.registered()
    assert p.send("location_event", lat=23.0435, lng=112.9165) is None
    row = p.resident
    assert row.last_lat == pytest.approx(23.0435) and row.last_lng == pytest.approx(112.9165)


def test_image_when_text_expected_reasks(chat):
    p = chat.persona()
    _to_address(p)
    reply = p.send_image()
    assert "需要文字" in reply and "楼栋" in reply


def test_link_and_video_get_a_polite_reply(chat):
    p = chat.registered()
    assert "暂时无法处理" in p.send("link", title="看看", url="http://example.invalid")
    assert "暂时无法处理" in p.send("video")


def test_resident_rows_keep_utc_timestamps(chat):
    row = chat.registered().resident
    assert isinstance(row, Resident) and row.followed_at.utcoffset().total_seconds() == 0


def test_my_data_shows_what_is_held_and_erasure_removes_it(chat, fast_db):
    p = chat.registered(mobile="13700002222", name="王姨")
    shown = p.say("我的数据")
    assert "王姨" in shown and "137****2222" in shown and "3栋2单元" in shown and "注销" in shown
    assert "无法恢复" in p.say("注销")
    assert "没有注销" in p.say("2")
    p.say("注销")
    resident_id = p.resident.id
    assert "已注销" in p.say("1")
    fast_db.expire_all()
    row = fast_db.get(Resident, resident_id)
    assert row.openid is None and row.name is None and row.mobile is None and row.address is None
    assert row.anonymised_at is not None and row.building_id is None
    assert "请先选择您所在的社区" in p.say("你好")  # a new, blank resident
