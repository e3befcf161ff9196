"""Conversation engine: explicit state machines persisted per resident.

A `Flow` is data: a name, a `StrEnum` of steps, a `step → handler` table and a
`step → prompt` table; building one checks every step has both. Handlers move
with `ask` (go to a step and ask its question), `reask` (say what was wrong and
ask again) and `done` (end the conversation with a reply). The state itself is
`bot.state.ConversationState`, a row in the database so any worker can continue it.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.context import Again, Context, Reply
from bot.inbound import Incoming
from core.texts import text

StepHandler = Callable[[Context, Incoming], "Reply | Again | None"]
Prompt = Callable[[Context], str]


# The step a task rests at once it is done (a report filed, a booking made).
DONE = "done"


@dataclass(frozen=True)
class Flow:
    """A multi-step conversation: its steps, what each asks, and its title."""

    name: str
    title_key: str
    steps: type[enum.StrEnum]
    handlers: Mapping[str, StepHandler]
    prompts: Mapping[str, Prompt] = field(default_factory=dict)
    # Steps where the task is already finished: another command there needs no "leave?" question.
    finished: frozenset[str] = frozenset({DONE})
    # Steps that wait for nothing (a task done, a list paged through): 菜单 or 帮助 there shows
    # the menu and ends the flow, instead of repeating the step's question.
    resting: frozenset[str] = frozenset({DONE})
    # Steps that take any words as their answer (a description, a name): only a command there
    # means the person wants something else, not words that merely sound like another request.
    free_text: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        names = {step.value for step in self.steps}
        for table, what in ((self.handlers, "handler"), (self.prompts, "prompt")):
            missing, extra = names - set(table), set(table) - names
            if missing or extra:
                raise ValueError(f"flow {self.name}: steps without a {what} {sorted(missing)}"
                                 f"{f', unknown steps {sorted(extra)}' if extra else ''}")
        text(self.title_key)  # a missing title fails at start-up, not in a chat

    def prompt(self, ctx: Context, step: str) -> str:
        asker = self.prompts.get(step)
        return asker(ctx) if asker else ""


def current_flow(ctx: Context) -> Flow:
    return ctx.router.flows[ctx.conversation.flow or ""]


def ask(ctx: Context, step: str, prefix: str | None = None, **data: Any) -> Reply:
    """Go to `step` (keeping `data`) and ask its question."""
    ctx.conversation.goto(step, **data)
    return Reply(current_flow(ctx).prompt(ctx, step)).prefixed(prefix)


def start(ctx: Context, flow: str, step: str, prefix: str | None = None, **data: Any) -> Reply:
    """Begin `flow` at `step` and ask its first question."""
    ctx.conversation.start(flow, step, **data)
    return Reply(ctx.router.flows[flow].prompt(ctx, step)).prefixed(prefix)


def reask(ctx: Context, key: str, **values: object) -> Reply:
    """Say what was wrong (catalogue `key`) and ask the current step's question again."""
    problem = text(key, **values) if key else ""
    prompt = current_flow(ctx).prompt(ctx, ctx.conversation.step or "")
    return Reply("\n".join(part for part in (problem, prompt) if part))


def done(ctx: Context, key: str, **values: object) -> Reply:
    """End the conversation with a reply from the catalogue."""
    ctx.conversation.clear()
    return ctx.reply(key, **values)
