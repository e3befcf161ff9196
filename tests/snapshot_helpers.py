"""Shared by the snapshot tests: a text message fed straight to the pipeline, its reply."""
from __future__ import annotations

import itertools

from bot.inbound import Incoming

_ids = itertools.count(880000001)


def incoming(openid: str, words: str, msg_id: int | None = None) -> Incoming:
    return Incoming(kind="text", openid=openid, account="gh_linli_test", create_time=1700000000,
                    msg_id=str(msg_id or next(_ids)), text=words)


def reply_text(xml: str) -> str:
    return xml.split("<Content><![CDATA[", 1)[1].split("]]>", 1)[0]


def seq(chat, openid: str) -> int:
    return chat.resident(openid).message_seq
