"""Routing: decide which handler answers an incoming message.

Each feature module owns a `Router` and registers its handlers with
decorators; the app includes the feature routers into one root router.
Order of decision for a message:

1. events (subscribe, CLICK → menu key, …);
2. the universal words 取消/退出 and 帮助/菜单, at every step (once a task is done, the menu);
3. the resident's active conversation step (a step may hand the message back
   with `AGAIN`: it is then routed afresh, outside the conversation); a command
   typed mid-flow first asks whether to leave the task;
4. commands: a word alone, or a word followed by an argument its pattern
   accepts ("进展 BS000123 已联系物业"); a sentence that merely starts with a command
   word is not that command, and a staff command typed by a resident is not one;
5. intercepts (an open chat with staff takes everything else);
6. a number from the main menu;
7. fallbacks (e.g. start registration);
8. intent recognition of free words and voice (`bot.understanding`), best guess
   first; three misunderstandings in a row hand the chat to staff.

Two features claiming the same word (alone, or with the same argument
pattern) is an error when the routers are combined, not a silent first-wins.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot import leaving
from bot.context import AGAIN, Context, Reply
from bot.conversation import Flow
from bot.inbound import Incoming
from bot.understanding import recognizer
from core.numbers import numbered_choice
from core.texts import text, vocab
from core.words import normalise

log = logging.getLogger(__name__)

Handler = Callable[[Context, Incoming], Reply | None]
CommandHandler = Callable[[Context, Incoming, str], Reply | None]
ANYTHING = re.compile(r".+", re.DOTALL)
MISUNDERSTOOD_LIMIT = 3
# What a last line looks like when it tells the person how to go on.
NEXT_STEP = re.compile(r"回复|点击|点“|发送|拨打|请|可以|直接说|吗|？|\?|^\d+[.、]")


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
    staff: bool = False  # only for people who work reports or the time bank

    def clashes(self, other: Command) -> bool:
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
        self.intercepts: list[Handler] = []
        self.intents: dict[str, Handler] = {}
        self.intent_owners: dict[str, str] = {}
        self.flow_owners: dict[str, str] = {}
        self._prefixes: list[str] | None = None

    # --- registration ----------------------------------------------------
    def flow(self, flow: Flow) -> Flow:
        self._claim(self.flows, flow.name, flow, "flow")
        self.flow_owners[flow.name] = self.name
        return flow

    def keyword(self, *words: str, args: bool | str = False, bare: bool = True,
                staff: bool = False) -> Callable[[CommandHandler], CommandHandler]:
        """Register a command. `args=True` accepts any argument, a string is a regular
        expression the argument must match; `bare` also accepts the word alone; `staff`
        commands are not commands for residents (their words go to recognition)."""
        pattern = ANYTHING if args is True else re.compile(args, re.DOTALL | re.IGNORECASE) if args else None

        def register(fn: CommandHandler) -> CommandHandler:
            for word in words:
                self._add(Command(normalise(word), fn, pattern, bare, self.name, staff))
            return fn
        return register

    def intent(self, *names: str) -> Callable[[Handler], Handler]:
        """Handle a recognised intent (`core.texts.intents`); return None to pass to the next guess."""
        def register(fn: Handler) -> Handler:
            for name in names:
                self._claim(self.intents, name, fn, "intent")
                self.intent_owners[name] = self.name
            return fn
        return register

    def intercept(self, fn: Handler) -> Handler:
        """Sees every message no command claimed, before menu numbers; None passes it on."""
        self.intercepts.append(fn)
        return fn

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

    def include(self, other: Router) -> None:
        """Merge a feature router; any clash is an error."""
        for name, flow in other.flows.items():
            self._claim(self.flows, name, flow, "flow")
        for name, handler in other.events.items():
            self._claim(self.events, name, handler, "event")
        for kind, handler in other.kinds.items():
            self._claim(self.kinds, kind, handler, "message kind")
        for name, handler in other.intents.items():
            self._claim(self.intents, name, handler, "intent")
        self.intent_owners.update(other.intent_owners)
        self.flow_owners.update(other.flow_owners)
        self.intercepts.extend(other.intercepts)
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
        return _with_next_step(reply.prefixed(notice)) if reply else reply

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
            flow = self.flows.get(conv.flow or "")
            if conv.active and (flow is None or conv.step not in flow.resting):
                return self.remind_step(ctx)
            if conv.active:  # nothing is awaited: 菜单 means the menu, and its numbers count again
                conv.clear()
            if lowered in vocab.HELP and "help" in self.intents:
                return self.intents["help"](ctx, msg)
            return Reply(self.menu_text())
        if conv.active:
            if leaving.WAITING in conv.data and (reply := leaving.leave_or_stay(self, ctx, msg, words)):
                return reply
            if (asked := leaving.ask_to_leave(self, ctx, msg, words)) is not None:
                return asked
            reply = self._continue(ctx, msg)
            if reply is not AGAIN:
                return reply
            conv.clear()
        return self.fresh(ctx, msg, words)

    def fresh(self, ctx: Context, msg: Incoming, words: str) -> Reply | None:
        typed = msg.kind in ("text", "voice") and bool(words)
        if typed and (matched := self.match(words, lambda: ctx.works)):
            command, args = matched
            _understood(ctx)
            return command.handler(ctx, msg, args)
        for intercept in self.intercepts:
            reply = intercept(ctx, msg)
            if reply is not None:
                return reply
        if not typed:
            handler = self.kinds.get(msg.kind) or self.kinds.get("*")
            if handler is not None:
                return handler(ctx, msg)
            return ctx.reply("unsupported_message")
        choice = numbered_choice(words, len(self.menu_items))
        if choice is not None:
            _understood(ctx)
            return self.menu_items[choice - 1].handler(ctx, msg)
        for fallback in self.fallbacks:
            reply = fallback(ctx, msg)
            if reply is not None:
                return reply
        for guess in recognizer(ctx.config).guess(words):
            handler = self.intents.get(guess.intent)
            reply = handler(ctx, msg) if handler else None
            if reply is not None:
                _understood(ctx)
                return reply
        return self._misunderstood(ctx, msg)

    def _misunderstood(self, ctx: Context, msg: Incoming) -> Reply:
        resident = ctx.resident
        if resident is not None:
            resident.misunderstood = (resident.misunderstood or 0) + 1
            handoff = self.intents.get("misunderstood")
            if resident.misunderstood >= MISUNDERSTOOD_LIMIT and handoff is not None:
                return handoff(ctx, msg)
        return ctx.reply("unknown", menu=self.menu_text())

    def match(self, words: str, works: Callable[[], bool] | None = None) -> tuple[Command, str] | None:
        """The command `words` is: a registered word alone, or word + an accepted argument.
        `works` says whether staff commands count (None: they do)."""
        def allowed(command: Command) -> bool:
            return not command.staff or works is None or works()

        for command in self.commands.get(words, ()):
            if command.bare and allowed(command):
                return command, ""
        if self._prefixes is None:
            self._prefixes = sorted((w for w, cs in self.commands.items()
                                     if any(c.pattern for c in cs)), key=len, reverse=True)
        # "查询BS000123" and "查询 BS000123" both work: longest word first.
        for word in self._prefixes:
            if words.startswith(word) and len(words) > len(word):
                rest = words[len(word):].strip()
                for command in self.commands[word]:
                    if command.pattern is not None and rest and command.pattern.fullmatch(rest) \
                            and allowed(command):
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

    def remind_step(self, ctx: Context, prefix: str | None = None) -> Reply:
        flow = self.flows.get(ctx.conversation.flow or "")
        prompt = flow.prompt(ctx, ctx.conversation.step or "") if flow else ""
        title = text(flow.title_key) if flow else ""
        reply = Reply(text("in_progress", flow=title, prompt=prompt) + "\n" + text("step_hint"))
        return reply.prefixed(prefix)


def _with_next_step(reply: Reply) -> Reply:
    """Every reply ends by saying what the person can do next: the generic hint where the
    reply itself does not (a choice list, a question, "回复…" all count)."""
    last = reply.text.rstrip().rsplit("\n", 1)[-1]
    return reply if NEXT_STEP.search(last) else reply.then(text("menu_hint"))


def _understood(ctx: Context) -> None:
    if ctx.resident is not None and ctx.resident.misunderstood:
        ctx.resident.misunderstood = 0
