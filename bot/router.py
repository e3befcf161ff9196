"""Routing: decide which handler answers an incoming message.

Each feature module owns a `Router` and registers its handlers with
decorators; the app includes the feature routers into one root router.
Order of decision for a message:

1. events (subscribe, CLICK → menu key, …);
2. the universal words 取消/退出 and 帮助/菜单, at every step;
3. the resident's active conversation step (a step may hand the message back
   with `AGAIN`: it is then routed afresh, outside the conversation);
4. commands: a word alone, or a word followed by an argument its pattern
   accepts ("进展 BS000123 已联系物业"); a sentence that merely starts with a command
   word is not that command;
5. a number from the main menu;
6. fallbacks (e.g. start registration), then the numbered menu.

Two features claiming the same word (alone, or with the same argument
pattern) is an error when the routers are combined, not a silent first-wins.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable

from bot.context import AGAIN, Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming
from core.numbers import numbered_choice
from core.texts import text, vocab
from core.words import normalise

log = logging.getLogger(__name__)

Handler = Callable[[Context, Incoming], Reply | None]
CommandHandler = Callable[[Context, Incoming, str], Reply | None]
ANYTHING = re.compile(r".+", re.S)


@dataclass(frozen=True)
class MenuItem:
    """One entry of the numbered main menu and of the WeChat menu bar."""

    order: int
    key: str
    label_key: str
    handler: Handler
    group_key: str  # the WeChat menu-bar button it sits under


@dataclass(frozen=True)
class Command:
    """A word, alone (`bare`) and/or followed by an argument `pattern` accepts."""

    word: str
    handler: CommandHandler
    pattern: re.Pattern | None
    bare: bool
    owner: str

    def clashes(self, other: "Command") -> bool:
        same_args = self.pattern is not None and other.pattern is not None and \
            self.pattern.pattern == other.pattern.pattern
        return (self.bare and other.bare) or same_args


class Router:
    """Handler tables for one feature; `include` merges features into the root."""

    def __init__(self, name: str = "root") -> None:
        self.name = name
        self.flows: dict[str, Flow] = {}
        self.commands: dict[str, list[Command]] = {}
        self.menu_items: list[MenuItem] = []
        self.events: dict[str, Handler] = {}
        self.kinds: dict[str, Handler] = {}
        self.fallbacks: list[Handler] = []
        self._prefixes: list[str] | None = None

    # --- registration ----------------------------------------------------
    def flow(self, flow: Flow) -> Flow:
        self._claim(self.flows, flow.name, flow, "flow")
        return flow

    def keyword(self, *words: str, args: bool | str = False,
                bare: bool = True) -> Callable[[CommandHandler], CommandHandler]:
        """Register a command. `args=True` accepts any argument, a string is a regular
        expression the argument must match; `bare` also accepts the word alone."""
        pattern = ANYTHING if args is True else re.compile(args, re.S | re.I) if args else None

        def register(fn: CommandHandler) -> CommandHandler:
            for word in words:
                self._add(Command(normalise(word), fn, pattern, bare, self.name))
            return fn
        return register

    def _add(self, command: Command) -> None:
        existing = self.commands.setdefault(command.word, [])
        for other in existing:
            if command.clashes(other):
                raise ValueError(f"command {command.word!r} claimed by both {other.owner} "
                                 f"and {command.owner}")
        existing.append(command)
        self._prefixes = None

    def menu(self, key: str, label_key: str, order: int,
             group: str = "menu_group_mine") -> Callable[[Handler], Handler]:
        """Register a menu entry: WeChat menu key, numbered-menu item and its label as keyword."""
        def register(fn: Handler) -> Handler:
            self.menu_items.append(MenuItem(order, key, label_key, fn, group))
            self._add(Command(normalise(text(label_key)), lambda c, m, _a: fn(c, m), None, True,
                              self.name))
            return fn
        return register

    def event(self, *names: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for name in names:
                self._claim(self.events, name.lower(), fn, "event")
            return fn
        return register

    def message(self, *kinds: str) -> Callable[[Handler], Handler]:
        """Handle a message kind (image, location, …) when no conversation is active."""
        def register(fn: Handler) -> Handler:
            for kind in kinds:
                self._claim(self.kinds, kind, fn, "message kind")
            return fn
        return register

    def fallback(self, fn: Handler) -> Handler:
        """Tried in order before the "didn't understand" menu; return None to pass."""
        self.fallbacks.append(fn)
        return fn

    def _claim(self, table: dict, key: str, value, what: str) -> None:
        if key in table:
            raise ValueError(f"{what} {key!r} registered twice (router {self.name})")
        table[key] = value

    def include(self, other: "Router") -> None:
        """Merge a feature router; any clash is an error."""
        for name, flow in other.flows.items():
            self._claim(self.flows, name, flow, "flow")
        for name, handler in other.events.items():
            self._claim(self.events, name, handler, "event")
        for kind, handler in other.kinds.items():
            self._claim(self.kinds, kind, handler, "message kind")
        for commands in other.commands.values():
            for command in commands:
                self._add(command)
        keys = {item.key for item in self.menu_items}
        for item in other.menu_items:
            if item.key in keys:
                raise ValueError(f"menu key {item.key!r} registered twice")
        self.menu_items = sorted(self.menu_items + other.menu_items, key=lambda m: m.order)
        self.fallbacks.extend(other.fallbacks)

    # --- menus -------------------------------------------------------------
    def menu_text(self) -> str:
        items = "\n".join(f"{n}. {text(item.label_key)}"
                          for n, item in enumerate(self.menu_items, start=1))
        return text("main_menu", items=items)

    def menu_handler(self, key: str) -> Handler | None:
        return next((item.handler for item in self.menu_items if item.key == key), None)

    # --- dispatch ----------------------------------------------------------
    def dispatch(self, ctx: Context, msg: Incoming) -> Reply | None:
        """Pick the handler for `msg` and return its reply (None: nothing to say)."""
        if msg.is_event:
            return self._dispatch_event(ctx, msg)
        notice = None
        if ctx.conversation.expired:
            notice = text("timed_out", minutes=ctx.config.conversation.idle_timeout_minutes)
            ctx.conversation.clear()
        reply = self._dispatch_message(ctx, msg)
        return reply.prefixed(notice) if reply else reply

    def _dispatch_event(self, ctx: Context, msg: Incoming) -> Reply | None:
        if msg.event == "click" and msg.event_key:
            handler = self.menu_handler(msg.event_key)
            if handler is not None:
                ctx.conversation.clear()  # a menu tap is a fresh intent
                return handler(ctx, msg)
        handler = self.events.get(msg.event or "")
        if handler is None:
            log.info("unhandled event %s", msg.event)
            return None
        return handler(ctx, msg)

    def _dispatch_message(self, ctx: Context, msg: Incoming) -> Reply | None:
        words = msg.normalised
        lowered = words.lower()
        conv = ctx.conversation
        if lowered in vocab.CANCEL:
            if conv.active:
                conv.clear()
                return ctx.reply("cancelled")
            return ctx.reply("nothing_to_cancel")
        if lowered in vocab.HELP | vocab.MENU:
            if conv.active:
                return self._remind_step(ctx)
            if lowered in vocab.HELP:
                return ctx.reply("help", menu=self.menu_text())
            return Reply(self.menu_text())
        if conv.active:
            reply = self._continue(ctx, msg)
            if reply is not AGAIN:
                return reply
            conv.clear()
        return self._fresh(ctx, msg, words)

    def _fresh(self, ctx: Context, msg: Incoming, words: str) -> Reply | None:
        if msg.kind not in ("text", "voice") or not words:
            handler = self.kinds.get(msg.kind) or self.kinds.get("*")
            if handler is not None:
                return handler(ctx, msg)
            return ctx.reply("unsupported_message")
        matched = self.match(words)
        if matched:
            command, args = matched
            return command.handler(ctx, msg, args)
        choice = numbered_choice(words, len(self.menu_items))
        if choice is not None:
            return self.menu_items[choice - 1].handler(ctx, msg)
        for fallback in self.fallbacks:
            reply = fallback(ctx, msg)
            if reply is not None:
                return reply
        return ctx.reply("unknown", menu=self.menu_text())

    def match(self, words: str) -> tuple[Command, str] | None:
        """The command `words` is: a registered word alone, or word + an accepted argument."""
        for command in self.commands.get(words, ()):
            if command.bare:
                return command, ""
        if self._prefixes is None:
            self._prefixes = sorted((w for w, cs in self.commands.items()
                                     if any(c.pattern for c in cs)), key=len, reverse=True)
        # "查询BS000123" and "查询 BS000123" both work: longest word first.
        for word in self._prefixes:
            if words.startswith(word) and len(words) > len(word):
                rest = words[len(word):].strip()
                for command in self.commands[word]:
                    if command.pattern is not None and rest and command.pattern.fullmatch(rest):
                        return command, rest
        return None

    def _continue(self, ctx: Context, msg: Incoming):
        conv = ctx.conversation
        flow = self.flows.get(conv.flow or "")
        step = flow.handlers.get(conv.step or "") if flow else None
        if flow is None or step is None:
            # A flow or step removed by an upgrade: start over cleanly.
            log.warning("dropping unknown conversation step %s/%s", conv.flow, conv.step)
            conv.clear()
            return ctx.reply("unknown", menu=self.menu_text())
        if msg.kind == "voice" and not msg.text:
            return Reply(text("voice_not_understood") + "\n" + flow.prompt(ctx, conv.step or ""))
        return step(ctx, msg)

    def _remind_step(self, ctx: Context) -> Reply:
        flow = self.flows.get(ctx.conversation.flow or "")
        prompt = flow.prompt(ctx, ctx.conversation.step or "") if flow else ""
        title = text(flow.title_key) if flow else ""
        return Reply(text("in_progress", flow=title, prompt=prompt) + "\n" + text("step_hint"))
