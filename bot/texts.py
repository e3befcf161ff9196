"""The message catalogue: every sentence a resident reads, in one place.

Keys are English, values Simplified Chinese `str.format` templates. Keep
replies short, give numbered choices, and always say how to go on.
"""
from __future__ import annotations

TEXTS: dict[str, str] = {
    # --- universal ---------------------------------------------------------
    "cancelled": "已取消。{menu_hint}",
    "nothing_to_cancel": "当前没有进行中的操作。{menu_hint}",
    "menu_hint": "回复“菜单”查看可以办理的事项。",
    "timed_out": "上次的操作超过{minutes}分钟没有回复，已自动结束。",
    "step_hint": "（回复“取消”可退出当前操作）",
    "in_progress": "您正在：{flow}。\n{prompt}",
    "main_menu": "请回复数字选择：\n{items}\n随时回复“帮助”查看说明。",
    "unknown": "抱歉，没能看懂您的意思。\n{menu}",
    "help": (
        "邻里·社区服务号使用说明：\n"
        "· 回复数字或关键词办理事项，例如“我的信息”。\n"
        "· 办理中随时回复“取消”退出，回复“帮助”查看当前步骤。\n"
        "· 也可以点击下方菜单。\n{menu}"
    ),
    "voice_not_understood": "抱歉，暂时听不懂语音。请直接打字告诉我们，例如“我的信息”。",
    "image_without_context": "收到您的图片。如需反映问题，请先回复“菜单”选择事项。",
    "location_saved": "已收到您的位置（{label}）。{menu_hint}",
    "unsupported_message": "暂时无法处理这类消息，请发送文字。{menu_hint}",
    "expecting_text": "这一步需要文字回复。",
    "busy": "系统繁忙，请稍后再试。",
    # --- registration (registration.py) --------------------------------------
    "flow_registration": "居民登记",
    "flow_profile": "修改个人信息",
    "welcome": "欢迎关注邻里·社区服务号！在这里可以反映身边问题、参加议事会、记录志愿服务。",
    "welcome_back": "欢迎回来！",
    "ask_community": "请先选择您所在的社区，回复数字：\n{choices}",
    "community_choice": "{n}. {name}（{district}）",
    "bad_community": "没有找到这个社区，请回复列表中的数字。",
    "no_communities": "系统暂未开通任何社区，请联系社区工作人员。",
    "community_bound": "已为您登记为【{community}】居民。",
    "ask_address": "请回复您住的楼栋和单元，例如“3栋2单元”（2-30个字）。",
    "bad_address": "楼栋地址需要2到30个字，例如“3栋2单元”。",
    "ask_mobile": "请回复您的手机号码（11位），方便社区联系您；不想提供请回复“跳过”。",
    "bad_mobile": "手机号码格式不对，请输入11位大陆手机号，例如13812345678；或回复“跳过”。",
    "registered": "登记完成，谢谢！\n{profile}\n{menu_hint}",
    "profile": "社区：{community}\n楼栋：{address}\n手机：{mobile}\n身份：{roles}",
    "profile_menu": "您的信息：\n{profile}\n\n如需修改，请回复：\n1. 修改社区\n2. 修改楼栋\n3. 修改手机号\n回复“取消”结束。",
    "profile_updated": "已更新。\n{profile}",
    "not_set": "未填写",
    "already_in_community": "您已是【{community}】居民，无需重复登记。",
    "confirm_switch_community": "您当前登记在【{current}】，是否改为【{target}】？\n1. 改为{target}\n2. 不改",
    "switch_kept": "好的，保持【{current}】不变。",
    "reply_one_or_two": "请回复 1 或 2。",
    "unknown_choice": "请回复列表中的数字。",
    "skip_words": "跳过",
    # --- menu labels ---------------------------------------------------------
    "menu_profile": "我的信息",
    "menu_help": "使用帮助",
    "menu_more": "更多",
    # --- roles -----------------------------------------------------------------
    "role_resident": "居民",
    "role_volunteer": "志愿者",
    "role_building_head": "楼道长",
    "role_grid_worker": "网格员",
    "role_staff": "社区工作人员",
    "role_admin": "管理员",
}


def text(key: str, **values: object) -> str:
    """The catalogue entry `key` filled with `values`."""
    template = TEXTS[key]
    if "{menu_hint}" in template and "menu_hint" not in values:
        values["menu_hint"] = TEXTS["menu_hint"]
    return template.format(**values)
