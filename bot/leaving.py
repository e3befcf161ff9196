"""Something else typed in the middle of a task: ask once before leaving it.

A command of another feature ("我的报名" while describing a problem), or words that clearly
ask for another feature at a step expecting a number, a phone or a yes/no, keep the task
and ask: 1 leaves and does what was asked, 2 goes on; any other answer is the step's.
"""
from __future__ import annotations

from dataclasses import replace

from bot.context import Context, Reply, Routes
from bot.inbound import Incoming
from bot.understanding import POLITE, recognizer, yes_or_no
from core.numbers import to_int
from core.texts import text, vocab
from core.words import normalise

WAITING = "_leaving"  # conversation data: what the person typed, waiting for "leave?"
STRONG = 6  # an intent scored this high is meant even in the middle of another task
SENTENCE = 4  # ...when said in a sentence: one or two words at a step are an attempt to answer it
NOT_ANOTHER_TASK = POLITE | {"help"}  # said mid-task, these do not ask for another one


def ask_to_leave(router: Routes, ctx: Context, msg: Incoming, words: str) -> Reply | None:
    """The "leave the task?" question, or None when the words answer the step."""
    conv = ctx.conversation
    flow = router.flows.get(conv.flow or "")
    if flow is None or conv.step in flow.finished or msg.kind not in ("text", "voice") or not words:
        return None
    if to_int(words) is not None or yes_or_no(words) is not None \
            or words.lower() in vocab.DONE | vocab.SKIP:
        return None
    owner = router.flow_owners.get(flow.name)
    matched = router.match(words, lambda: ctx.works)
    if matched is not None:
        if matched[0].owner == owner:
            return None
    elif conv.step in flow.free_text or not _means_other(router, ctx, words, owner):
        return None
    conv.update(**{WAITING: words})
    return ctx.reply("leave_task", flow=text(flow.title_key), command=words[:20])


def _means_other(router: Routes, ctx: Context, words: str, owner: str | None) -> bool:
    """Words that clearly ask for another feature ("确认一下我报名了没有" at a phone-number step)."""
    if len(words) < SENTENCE:
        return False
    guesses = recognizer(ctx.config).guess(words)
    best = guesses[0] if guesses else None
    return best is not None and best.score >= STRONG and best.intent not in NOT_ANOTHER_TASK \
        and best.intent in router.intents and router.intent_owners.get(best.intent) != owner


def leave_or_stay(router: Routes, ctx: Context, msg: Incoming, words: str) -> Reply | None:
    """The answer to "leave?": 1 does what was typed, 2 goes on, anything else is the step's."""
    conv = ctx.conversation
    waiting = conv.data.get(WAITING) or ""
    conv.forget(WAITING)
    answer = yes_or_no(words)
    if answer is True:
        conv.clear()
        return router.fresh(ctx, replace(msg, text=waiting), normalise(waiting))
    if answer is False:
        return router.remind_step(ctx, text("stay_in_task"))
    return None
