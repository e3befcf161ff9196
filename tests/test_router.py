"""The chat framework's own rules: flows are complete, words are claimed once, commands match
whole words with valid arguments."""
from __future__ import annotations

import enum

import pytest

from bot.conversation import Flow
from bot.router import Router
from handlers import build_router


class Steps(enum.StrEnum):
    ONE = "one"
    TWO = "two"


def _handler(ctx, msg):
    return None


def test_a_flow_needs_a_handler_and_a_prompt_for_every_step():
    with pytest.raises(ValueError, match="without a handler"):
        Flow("f", "flow_report", Steps, {Steps.ONE: _handler}, {Steps.ONE: str, Steps.TWO: str})
    with pytest.raises(ValueError, match="without a prompt"):
        Flow("f", "flow_report", Steps, {Steps.ONE: _handler, Steps.TWO: _handler}, {Steps.ONE: str})
    with pytest.raises(KeyError):
        Flow("f", "no_such_title", Steps, {s: _handler for s in Steps}, {s: str for s in Steps})


def test_two_features_claiming_a_word_is_an_error_when_combined():
    first, second = Router("first"), Router("second")
    first.keyword("驳回", args=r"BS\d+")(lambda c, m, a: None)
    second.keyword("驳回", args=r"S\d+", bare=False)(lambda c, m, a: None)  # other arguments: fine
    root = Router()
    root.include(first)
    root.include(second)
    third = Router("third")
    third.keyword("驳回")(lambda c, m, a: None)  # the bare word again
    with pytest.raises(ValueError, match="claimed by both first and third"):
        root.include(third)


def test_commands_match_their_word_with_a_valid_argument_only():
    router = build_router()
    assert router.match("进展 BS000123 已联系物业")[1] == "BS000123 已联系物业"
    assert router.match("查询BS000123")[1] == "BS000123"
    assert router.match("进展") is not None  # the word alone: a usage hint
    for sentence in ("进展怎么样了", "确认一下我报名了没有", "兑换什么", "调整一下我的手机号",
                     "通过什么方式联系社区"):
        assert router.match(sentence) is None, sentence
    assert router.match("驳回 S12 日期不对")[0].owner == "timebank_staff"
    assert router.match("驳回 BS000123 不属于社区")[0].owner == "report_work"


def test_the_real_router_builds_without_clashes():
    router = build_router()
    assert len(router.menu_items) == 9 and "report" in router.flows
