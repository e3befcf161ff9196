"""Words Linli accepts as answers, normalised (simplified, half-width, lower case).

Kept beside the catalogue so what residents may say is reviewed with what they read.
"""
from __future__ import annotations

CANCEL = frozenset({"取消", "退出", "cancel", "q"})
HELP = frozenset({"帮助", "help", "?", "？"})
MENU = frozenset({"菜单", "menu"})
SKIP = frozenset({"跳过", "不用", "没有", "无"})
DONE = frozenset({"好了", "好", "完成", "发完了", "ok", "没有了", "就这些"})
CONFIRM = frozenset({"1", "提交", "确认"})
DECLINE = frozenset({"2"})
MORE = frozenset({"更多", "下一页"})
STAFF_TARGET = frozenset({"社区", "社区工作人员", "居委会"})
