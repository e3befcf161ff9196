"""五步议事 in the chat: raise a topic (我有建议), support one (附议), list the community's
topics (议题), give an opinion while it is collected (意见), answer an invitation (参加 /
不参加) and vote (投票)."""
from __future__ import annotations

import enum
import re

from sqlalchemy import select

from bot.context import Context, Reply
from bot.conversation import Flow, done, reask, start
from bot.inbound import Incoming
from bot.router import Router
from bot.understanding import yes_or_no
from core.clock import local
from core.texts import text
from core.words import as_written, normalise
from domain.deliberation import topics, votes
from domain.errors import Refused
from handlers.registration import registered_first
from models import Meeting, Topic, TopicStatus, Vote

router = Router("deliberation")
FLOW = "topic"
# YT000123, YT123 or just 123; votes TP000045 / TP45 / 45.
CODE = r"(?:YT)?\d{1,10}"
CODE_AND_TEXT = CODE + r"(\s*.+)?"
PROPOSE_WORDS = ("我要提建议", "我有建议", "提建议", "提议题")
LISTED = (TopicStatus.PROPOSED, TopicStatus.COLLECTING, TopicStatus.SCHEDULED, TopicStatus.DECIDED)
STANCE_WORDS = (("不同意", "disagree"), ("反对", "disagree"), ("同意", "agree"), ("赞成", "agree"),
                ("支持", "agree"))


class Step(enum.StrEnum):
    WORDS = "words"
    OFFERED = "offered"


def full_code(prefix: str, typed: str) -> str:
    """'YT12', '12' → 'YT000012' (people type the number they were told, not the zeros)."""
    digits = re.sub(r"\D", "", typed)[:10]
    return f"{prefix}{int(digits):06d}" if digits else typed.upper()


def _topic(ctx: Context, code: str) -> Topic | None:
    found = ctx.session.scalar(select(Topic).where(Topic.code == full_code("YT", code)))
    return found if found is not None and found.community_id == ctx.resident.community_id else None


@router.keyword("我有建议", "提建议", "提议题", "我要提建议", args=True)
def propose(ctx: Context, msg: Incoming, args: str) -> Reply:
    """With the words after the command the topic is raised at once; alone, they are asked."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    if not args.strip():
        return start(ctx, FLOW, Step.WORDS)
    return _raise(ctx, as_written(msg.text or "", args))


def _raise(ctx: Context, words: str) -> Reply:
    try:
        topic = topics.propose(ctx.uow, ctx.resident, words)
    except Refused as refusal:
        if ctx.conversation.flow == FLOW:
            return reask(ctx, refusal.key, **refusal.values)
        return start(ctx, FLOW, Step.WORDS, prefix=refusal.message)
    return done(ctx, "topic_proposed", code=topic.code)


def step_words(ctx: Context, msg: Incoming) -> Reply:
    words = (msg.text or "").strip()
    for word in PROPOSE_WORDS:  # "我有建议 …" typed again at the question
        if normalise(words).startswith(word):
            words = words[len(word):].strip(" ：:，,")
            break
    return _raise(ctx, words)


@router.intent("suggest")
def suggestion_in_words(ctx: Context, msg: Incoming) -> Reply:
    """"3栋想加装电梯，希望社区组织大家商量": offered as a topic, the words kept."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    words = msg.text or ""
    if len(" ".join(words.split())) < ctx.config.deliberation.topic_min_chars:
        return start(ctx, FLOW, Step.WORDS)
    return start(ctx, FLOW, Step.OFFERED, words=words)


def step_offered(ctx: Context, msg: Incoming) -> Reply:
    said = yes_or_no(msg.text)
    if said is True:
        return _raise(ctx, ctx.conversation.data["words"])
    if said is False:
        return done(ctx, "topic_offer_declined")
    return reask(ctx, "reply_one_or_two")


router.flow(Flow(FLOW, "flow_topic", Step, {Step.WORDS: step_words, Step.OFFERED: step_offered},
                 {Step.WORDS: lambda ctx: text("ask_topic", min=ctx.config.deliberation.topic_min_chars,
                                              max=ctx.config.deliberation.topic_max_chars),
                  Step.OFFERED: lambda ctx: text("topic_offer", words=ctx.conversation.data["words"][:60])},
                 free_text=frozenset({Step.WORDS})))


@router.keyword("附议", args=CODE)
def support(ctx: Context, msg: Incoming, args: str) -> Reply:
    if (needs := registered_first(ctx)) is not None:
        return needs
    if not args:
        return ctx.reply("topic_needs_code", word="附议")
    topic = _topic(ctx, args)
    if topic is None:
        return ctx.reply("topic_not_found", code=full_code("YT", args))
    try:
        count = topics.support(ctx.uow, ctx.resident, topic)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("topic_supported", code=topic.code, n=count)


@router.keyword("议题", "社区议题", "议题列表")
def list_topics(ctx: Context, msg: Incoming, _args: str) -> Reply:
    if (needs := registered_first(ctx)) is not None:
        return needs
    rows = ctx.session.scalars(select(Topic).where(
        Topic.community_id == ctx.resident.community_id, Topic.status.in_(LISTED))
        .order_by(Topic.support_count.desc(), Topic.id.desc()).limit(10)).all()
    if not rows:
        return ctx.reply("topic_list_empty")
    items = "\n".join(text("topic_line", code=t.code, title=t.title, n=t.support_count,
                           status=text(f"topic_status_{t.status.value}")) for t in rows)
    return ctx.reply("topic_list", items=items)


@router.keyword("意见", "提意见", args=CODE_AND_TEXT)
def opinion(ctx: Context, msg: Incoming, args: str) -> Reply:
    if (needs := registered_first(ctx)) is not None:
        return needs
    if not args:
        return ctx.reply("topic_needs_code", word="意见")
    typed = re.match(CODE, args, re.IGNORECASE).group(0)
    code = full_code("YT", typed)
    words = as_written(msg.text or "", args[len(typed):].strip(" ：:，,"))
    topic = _topic(ctx, code)
    if topic is None:
        return ctx.reply("topic_not_found", code=code)
    if not words:
        return ctx.reply("opinion_needs_words", code=code)
    said = normalise(words)
    stance = next((s for word, s in STANCE_WORDS if said.startswith(word)), None)
    try:
        replaced = topics.give_opinion(ctx.uow, ctx.resident, topic, words, stance)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("opinion_updated" if replaced else "opinion_saved", code=topic.code,
                     until=local(ctx.config, topic.opinions_until))


@router.keyword("投票", "表决", args=r"(?:TP)?\d{1,10}\s*\S{1,20}")
def vote(ctx: Context, msg: Incoming, args: str) -> Reply:
    """投票 TP000123 1 (the option's number, or its words: 投票 TP123 不同意)."""
    if (needs := registered_first(ctx)) is not None:
        return needs
    if not args:
        return ctx.reply("vote_needs_code")
    typed, said = re.match(r"((?:TP)?\d{1,10})\s*(\S{1,20})", args, re.IGNORECASE).groups()
    found = ctx.session.scalar(select(Vote).where(Vote.code == full_code("TP", typed)))
    if found is None:
        return ctx.reply("vote_not_found", code=full_code("TP", typed))
    choice = int(said) if said.isdigit() else next(
        (n for n, option in enumerate(found.options, 1) if normalise(option) == said), 0)
    try:
        votes.cast(ctx.uow, ctx.resident, found, choice)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("vote_cast", code=found.code, option=found.options[choice - 1],
                     until=local(ctx.config, found.closes_at))


def _answer(ctx: Context, args: str, coming: bool) -> Reply:
    if (needs := registered_first(ctx)) is not None:
        return needs
    meeting = ctx.session.get(Meeting, int(args)) if args and int(args) < 2 ** 31 else None
    if meeting is None:
        return ctx.reply("rsvp_not_invited")
    try:
        votes.rsvp(ctx.uow, ctx.resident, meeting, coming)
    except Refused as refusal:
        return Reply(refusal.message)
    return ctx.reply("rsvp_yes" if coming else "rsvp_no", title=meeting.title,
                     when=local(ctx.config, meeting.starts_at), place=meeting.place)


@router.keyword("参加", "出席", args=r"\d{1,9}", bare=False)
def rsvp_yes(ctx: Context, msg: Incoming, args: str) -> Reply:
    return _answer(ctx, args, True)


@router.keyword("不参加", "不出席", args=r"\d{1,9}", bare=False)
def rsvp_no(ctx: Context, msg: Incoming, args: str) -> Reply:
    return _answer(ctx, args, False)
