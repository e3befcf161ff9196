"""Build the WeChat menu bar from the features' menu entries and publish it."""
from __future__ import annotations

from bot.router import MenuItem
from core.config import Config
from core.db import make_engine, make_session_factory
from core.texts import text
from core.wechat_api import WeChatAPI
from handlers import build_router

MAX_TOP, MAX_SUB = 3, 5


def menu_buttons(items: list[MenuItem]) -> list[dict]:
    """One top-level button per group (at most 3), its entries as sub-buttons (at most 5);
    a group of one entry is a plain button."""
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item.group_key, []).append(
            {"type": "click", "name": text(item.label_key), "key": item.key})
    if len(groups) > MAX_TOP:
        raise ValueError(f"WeChat allows {MAX_TOP} menu buttons; features define {len(groups)}")
    return [entries[0] if len(entries) == 1 else
            {"name": text(group), "sub_button": entries[:MAX_SUB]}
            for group, entries in groups.items()]


def publish_menu(config: Config) -> str:
    buttons = menu_buttons(build_router().menu_items)
    engine = make_engine(config.database.url)
    try:
        WeChatAPI(config, make_session_factory(engine)).post("menu/create", {"button": buttons})
    finally:
        engine.dispose()
    return f"menu published: {', '.join(b['name'] for b in buttons)}"
