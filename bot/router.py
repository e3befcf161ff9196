"""Routing: decide which handler answers an incoming message.

Each feature module owns a `Router` and registers its handlers with
decorators; the app includes the feature routers into one root router.
Order of decision for a message:

1. events (subscribe, CLICK → menu key, …);
2. the universal words 取消/退出 and 帮助/菜单, at every step;
3. the resident's active conversation step;
4. keywords (synonyms and traditional characters normalised first);
5. a number from the main menu;
6. fallbacks (e.g. start registration), then the numbered menu.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from bot.context import Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming, normalise
from bot.texts import text

log = logging.getLogger(__name__)

Handler = Callable[[Context, Incoming], Reply | None]
Command = Callable[[Context, Incoming, str], Reply | None]

CANCEL_WORDS = {"取消", "退出", "cancel", "q"}
HELP_WORDS = {"帮助", "help", "?", "？"}
MENU_WORDS = {"菜单", "menu"}


@dataclass(frozen=True)
class MenuItem:
    """One entry of the numbered main menu and of the WeChat menu bar."""

    order: int
    key: str
    label_key: str
    handler: Handler
    group_key: str  # the WeChat menu-bar button it sits under


@dataclass(frozen=True)
class Keyword:
    handler: Command
    takes_args: bool


class Router:
    """Handler tables for one feature; `include` merges features into the root."""

    def __init__(self) -> None:
        self.flows: dict[str, Flow] = {}
        self.keywords: dict[str, Keyword] = {}
        self.menu_items: list[MenuItem] = []
        self.events: dict[str, Handler] = {}
        self.kinds: dict[str, Handler] = {}
        self.fallbacks: list[Handler] = []
        self._arg_words: list[str] | None = None

    # --- registration ----------------------------------------------------
    def flow(self, flow: Flow) -> Flow:
        self.flows[flow.name] = flow
        return flow

    def keyword(self, *words: str, args: bool = False) -> Callable[[Command], Command]:
        """Register a command. With `args`, text after the word is passed as `args`."""
        def register(fn: Command) -> Command:
            for word in words:
                self.keywords[normalise(word)] = Keyword(fn, args)
            self._arg_words = None
            return fn
        return register

    def menu(self, key: str, label_key: str, order: int,
             group: str = "menu_group_mine") -> Callable[[Handler], Handler]:
        """Register a menu entry: WeChat menu key, numbered-menu item and its label as keyword."""
        def register(fn: Handler) -> Handler:
            self.menu_items.append(MenuItem(order, key, label_key, fn, group))
            self.keywords[normalise(text(label_key))] = Keyword(lambda c, m, _a: fn(c, m), False)
            return fn
        return register

    def event(self, *names: str) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            for name in names:
                self.events[name.lower()] = fn
            return fn
        return register

    def message(self, *kinds: str) -> Callable[[Handler], Handler]:
        """Handle a message kind (image, location, …) when no conversation is active."""
        def register(fn: Handler) -> Handler:
            for kind in kinds:
                self.kinds[kind] = fn
            return fn
        return register

    def fallback(self, fn: Handler) -> Handler:
        """Tried in order before the "didn't understand" menu; return None to pass."""
        self.fallbacks.append(fn)
        return fn

    def include(self, other: "Router") -> None:
        """Merge a feature router; on a clash the router included first wins."""
        for mine, theirs in ((self.flows, other.flows), (self.keywords, other.keywords),
                             (self.events, other.events), (self.kinds, other.kinds)):
            for key, value in theirs.items():
                mine.setdefault(key, value)
        self.menu_items = sorted(self.menu_items + other.menu_items, key=lambda m: m.order)
        self.fallbacks.extend(other.fallbacks)
        self._arg_words = None

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
            notice = text("timed_out", minutes=ctx.config.get_path("conversation.idle_timeout_minutes"))
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
        if lowered in CANCEL_WORDS:
            if conv.active:
                conv.clear()
                return ctx.reply("cancelled")
            return ctx.reply("nothing_to_cancel")
        if lowered in HELP_WORDS | MENU_WORDS:
            if conv.active:
                return self._remind_step(ctx)
            if lowered in HELP_WORDS:
                return ctx.reply("help", menu=self.menu_text())
            return Reply(self.menu_text())
        if conv.active:
            return self._continue(ctx, msg)
        if msg.kind not in ("text", "voice") or not words:
            handler = self.kinds.get(msg.kind) or self.kinds.get("*")
            if handler is not None:
                return handler(ctx, msg)
            return ctx.reply("unsupported_message")
        matched = self._match_keyword(words)
        if matched:
            keyword, args = matched
            return keyword.handler(ctx, msg, args)
        if words.isdigit() and 1 <= int(words) <= len(self.menu_items):
            return self.menu_items[int(words) - 1].handler(ctx, msg)
        for fallback in self.fallbacks:
            reply = fallback(ctx, msg)
            if reply is not None:
                return reply
        return ctx.reply("unknown", menu=self.menu_text())

    def _match_keyword(self, words: str) -> tuple[Keyword, str] | None:
        exact = self.keywords.get(words)
        if exact is not None:
            return exact, ""
        if self._arg_words is None:
            self._arg_words = sorted((w for w, k in self.keywords.items() if k.takes_args),
                                     key=len, reverse=True)
        # "查询BS000123" and "查询 BS000123" both work: longest word first.
        for word in self._arg_words:
            if words.startswith(word):
                return self.keywords[word], words[len(word):].strip()
        return None

    def _continue(self, ctx: Context, msg: Incoming) -> Reply | None:
        conv = ctx.conversation
        flow = self.flows.get(conv.flow or "")
        step = flow.steps.get(conv.step or "") if flow else None
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
