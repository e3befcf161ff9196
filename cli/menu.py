"""Build the WeChat menu bar from the features' menu entries and publish it."""
from __future__ import annotations

from bot.router import MenuItem
from core.config import Config
from core.db import make_engine, make_session_factory
from core.texts import text
from core.wechat_api import WeChatAPI
from handlers import build_router

MAX_TOP, MAX_SUB = 3, 5


# Menu entries that open a resident page (type view) rather than a chat answer.
PAGES = (("menu_group_meetings", "menu_my_pages", "/my"),)


def menu_buttons(items: list[MenuItem], public_url: str = "") -> list[dict]:
    """One top-level button per group (at most 3), its entries as sub-buttons (at most 5);
    a group of one entry is a plain button."""
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item.group_key, []).append(
            {"type": "click", "name": text(item.label_key), "key": item.key})
    if public_url:
        for group, label, path in PAGES:
            groups.setdefault(group, []).append(
                {"type": "view", "name": text(label), "url": public_url.rstrip("/") + path})
    if len(groups) > MAX_TOP:
        raise ValueError(f"WeChat allows {MAX_TOP} menu buttons; features define {len(groups)}")
    crowded = [text(g) for g, entries in groups.items() if len(entries) > MAX_SUB]
    if crowded:
        raise ValueError(f"WeChat allows {MAX_SUB} entries under a button; too many under {crowded}")
    return [entries[0] if len(entries) == 1 else
            {"name": text(group), "sub_button": entries[:MAX_SUB]}
            for group, entries in groups.items()]


def publish_menu(config: Config) -> str:
    buttons = menu_buttons(build_router().menu_items, config.server.public_url)
    engine = make_engine(config.database.url)
    try:
        WeChatAPI(config, make_session_factory(engine)).post("menu/create", {"button": buttons})
    finally:
        engine.dispose()
    return f"menu published: {', '.join(b['name'] for b in buttons)}"
