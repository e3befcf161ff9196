"""Build the WeChat menu bar from the features' menu entries and publish it."""
from __future__ import annotations

from bot.config import Config
from bot.db import make_engine, make_session_factory
from bot.router import MenuItem
from bot.texts import text
from bot.wechat_api import WeChatAPI

MAX_TOP, MAX_SUB = 3, 5


def menu_buttons(items: list[MenuItem]) -> list[dict]:
    """At most 3 top-level buttons; past that the rest go under "更多" (at most 5)."""
    buttons = [{"type": "click", "name": text(i.label_key), "key": i.key} for i in items]
    if len(buttons) <= MAX_TOP:
        return buttons
    head, rest = buttons[:MAX_TOP - 1], buttons[MAX_TOP - 1:]
    return head + [{"name": text("menu_more"), "sub_button": rest[:MAX_SUB]}]


def publish_menu(config: Config) -> str:
    from handlers import build_router

    buttons = menu_buttons(build_router().menu_items)
    engine = make_engine(config.get_path("database.url"))
    try:
        WeChatAPI(config, make_session_factory(engine)).post("menu/create", {"button": buttons})
    finally:
        engine.dispose()
    return f"menu published: {', '.join(b['name'] for b in buttons)}"
