"""Words Linli accepts as answers, normalised (simplified, half-width, lower case).

Kept beside the catalogue so what residents may say is reviewed with what they read.
"""
from __future__ import annotations

CANCEL = frozenset({"取消", "退出", "cancel", "q"})
HELP = frozenset({"帮助", "help", "?", "？"})
MENU = frozenset({"菜单", "menu"})
SKIP = frozenset({"跳过", "不用", "没有", "无", "没相", "没有相", "没相片", "没照片", "没有照片", "不用了", "冇相", "冇相片", "冇", "唔使", "唔洗"})
DONE = frozenset({"好了", "好", "完成", "发完了", "ok", "没有了", "就这些"})
CONFIRM = frozenset({"1", "提交", "确认"})
DECLINE = frozenset({"2"})
# Yes and no as people say them (after `bot.understanding.clean`: Cantonese already in
# Mandarin, so 唔要 arrives as 不要). A reply that starts with one of them counts.
YES = ("好的", "好啊", "好", "是的", "是啊", "是", "对的", "对啊", "对", "可以", "行", "嗯", "没问题",
       "确认", "确定", "提交", "同意", "要", "ok", "yes", "得", "当然", "系")  # 系: Cantonese 是
NO = ("不是", "不要", "不用", "不对", "不行", "不好", "不同意", "不确认", "不", "算了", "否", "没有",
      "no", "别")
# Ratings said in words, strongest first within each group (不满意 is read before 满意).
RATINGS = (("非常不满意", 1), ("很不满意", 1), ("太差", 1), ("很差", 1), ("差评", 1),
           ("不太满意", 2), ("不满意", 2), ("差", 2),
           ("一般", 3), ("还行", 3), ("马马虎虎", 3), ("还可以", 3), ("凑合", 3),
           ("非常满意", 5), ("很满意", 5), ("十分满意", 5), ("特别满意", 5), ("好评", 5),
           ("五星", 5), ("满意", 4), ("不错", 4), ("挺好", 4))
# Ending a chat with staff (人工服务).
END_HANDOFF = frozenset({"结束", "结束人工", "结束对话", "结束人工服务", "退出人工", "不用人工了"})
MORE = frozenset({"更多", "下一页"})
STAFF_TARGET = frozenset({"社区", "社区工作人员", "居委会"})
# How people name a family member in a sentence → the relation they were registered with.
KIN = {"妈": "母亲", "妈妈": "母亲", "老妈": "母亲", "阿妈": "母亲", "老母": "母亲",
       "爸": "父亲", "爸爸": "父亲", "老爸": "父亲", "阿爸": "父亲", "老豆": "父亲",
       "老婆": "妻子", "太太": "妻子", "老公": "丈夫", "先生": "丈夫",
       "仔": "儿子", "囡": "女儿", "阿嫲": "奶奶", "阿爷": "爷爷", "婆婆": "外婆"}
