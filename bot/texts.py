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
    # --- reports (reports.py, report_work.py) -----------------------------------
    "flow_report": "反映问题（报事）",
    "ask_description": "请用一两句话描述您发现的问题（可直接发语音），例如“3栋楼道灯坏了”。",
    "bad_description_empty": "描述不能为空。",
    "bad_description_long": "描述太长了，请控制在{limit}字以内，说清问题和位置即可。",
    "ask_photos": "可以发送现场照片（最多{limit}张）。发完请回复“好了”，没有照片请回复“跳过”。",
    "photo_received": "已收到第{n}张照片。可继续发送，发完请回复“好了”。",
    "too_many_photos": "最多只能发送{limit}张照片，已收到{limit}张。请回复“好了”继续。",
    "ask_location": "请发送问题所在位置：点“+”→“位置”发送，或直接输入地址（如“5栋门口”）；回复“跳过”将按您登记的楼栋处理。",
    "location_outside": "这个位置不在本平台服务的社区范围内，请重新发送位置或输入地址。",
    "location_set": "位置：{place}",
    "ask_category": "问题分类建议为：【{name}】。\n回复1确认，或回复下列编号改选：\n{choices}",
    "ask_category_pick": "请回复编号选择问题分类：\n{choices}",
    "category_choice": "{n}. {name}",
    "summary": ("请确认您反映的问题：\n分类：{category}\n描述：{description}\n位置：{place}\n照片：{photos}张\n"
                "回复1提交；回复“改 描述”“改 位置”“改 分类”“改 照片”修改；回复“取消”放弃。"),
    "place_unknown": "未提供",
    "duplicate_found": ("附近已有同类问题正在处理：\n{code}【{category}】{description}\n"
                        "回复1关注该问题（+1），办理进展会同步通知您；回复2仍然新建。"),
    "already_submitted": "已提交，编号 {code}，无需重复提交。回复“查询 {code}”查看进度。",
    "followed_existing": "已关注 {code}，处理进展会通知您。感谢您的反映！",
    "already_following": "您已关注 {code}，处理进展会通知您。",
    "report_filed": ("提交成功！编号：{code}\n分类：{category}（{tier}）\n预计{hours}小时内响应，由{handler}负责。\n"
                     "回复“查询 {code}”查看进度。"),
    "report_advice": "温馨提示：{advice}",
    "my_reports_empty": "您还没有反映过问题。回复“报事”开始反映。",
    "my_reports": "您反映的问题（最近{n}条）：\n{items}\n回复“查询 编号”查看详情。",
    "my_report_line": "{code} {category} {status}（{date}）",
    "report_detail": "{code}【{category}】{status}\n{description}\n负责：{handler}\n进展：\n{timeline}",
    "timeline_line": "{time} {what}",
    "report_not_found": "没有找到编号为 {code} 的问题，请检查编号（如 BS000123）。",
    "ask_code": "请在命令后加上编号，例如“{command} BS000123”。",
    "tier_big": "大事·社区办理",
    "tier_small": "小事·居民自治",
    "tier_private": "私事·建议与转介",
    "status_submitted": "已提交",
    "status_accepted": "已受理",
    "status_in_progress": "处理中",
    "status_resolved": "已办结",
    "status_closed": "已关闭",
    "status_rejected": "未予受理",
    "status_referred": "已转介",
    "status_duplicate": "已合并",
    "actor_resident": "居民",
    "event_confirmed_solved": "居民确认已解决",
    "event_transferred": "转派给{title}",
    "event_escalated": "{what}超时，已督办",
    "event_not_solved": "居民反馈问题未解决，已重新打开",
    "actor_system": "系统",
    "event_plus_one": "又一位居民反映了同一问题（+1）",
    "community_staff_title": "{community}工作人员",
    "push_assigned": "新派单 {code}【{category}】：{description}\n回复“接单 {code}”确认受理。",
    "push_report_update": "您反映的问题 {code} 有新进展：{status}{note}",
    "ask_solved": "问题解决了吗？回复“已解决”或“未解决”。",
    "no_report_awaiting": "您目前没有待确认的已办结问题。",
    "ask_rating": "感谢确认！请为处理结果打分：回复1到5（5分最满意）。",
    "bad_rating": "请回复1到5之间的数字。",
    "ask_comment": "还有什么想说的吗？直接回复评价，或回复“跳过”。",
    "thanks_feedback": "感谢您的评价！{code} 已关闭。",
    "reopened": "抱歉问题还没解决。{code} 已重新打开并上报社区，我们会尽快处理。",
    "flow_feedback": "评价办理结果",
    "not_allowed": "抱歉，您没有权限办理这个问题。",
    "work_accepted": "已接单 {code}，请在{hours}小时内处理，完成后回复“办结 {code} 处理情况”。",
    "work_noted": "已记录进展，已通知居民。",
    "ask_result_photo": "请发送处理结果照片（可多张），发完回复“好了”；没有照片回复“跳过”。",
    "work_resolved": "{code} 已办结，已通知居民确认。",
    "work_transferred": "{code} 已转派给{title}。",
    "transfer_target_unknown": "没有找到“{who}”。可转派给本社区的网格员（写网格名，如“金宁第二网格”）或“社区”。",
    "work_needs_text": "请写明{what}，例如“{example}”。",
    "work_bad_state": "{code} 当前状态为“{status}”，不能这样操作。",
    "flow_result_photo": "上传办结照片",
    "push_escalation_reminder": "提醒：{code}【{category}】已超过{what}时限，请尽快处理。",
    "push_escalated": "督办：{code}【{category}】{what}超时，已上报社区。负责：{handler}",
    "digest": "今日待办（{n}件）：\n{items}",
    "digest_line": "{code} {category} {status}{overdue}",
    "digest_overdue": "（超时）",
    "sla_accept": "受理",
    "sla_resolve": "办结",
    "auto_closed": "居民7天内未确认，系统自动关闭",
    "focal_issues": ("本周焦点议题（{community}，共{n}件反映）：\n高频问题：{categories}\n高频地点：{places}\n"
                     "可作为下次议事会的候选议题。"),
    "menu_report": "我要报事",
    "menu_my_reports": "我的报事",
    # --- menu labels ---------------------------------------------------------
    "menu_profile": "我的信息",
    "menu_help": "使用帮助",
    "menu_group_reports": "报事",
    "menu_group_mine": "我的",
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
