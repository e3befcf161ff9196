"""Resident pages (H5), mobile-first: what notifications and the menu bar link to.

`signin` signs people in with WeChat and holds the request plumbing; `pages` are the
pages themselves (my reports, one report, one meeting, one notice, my hours, my
subscriptions); `board` is the public 议事公示栏 of a community; `topics` one topic of 五步议事 (附议, opinion, vote);
`tasks` a work order for whoever must act on it (接单, 进展, 办结).
"""
from web.resident import board, pages, tasks, topics
from web.resident.signin import bp

__all__ = ["board", "bp", "pages", "tasks", "topics"]
