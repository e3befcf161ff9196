"""The public board (议事公示栏) of a community: decided topics, their decision items and how
far each has got. Public by design: it shows topics and decisions, never who raised,
supported or gave an opinion; a resident who carries out an item shows only as 居民, and
progress notes (written by staff, may name people) stay in the console."""
from __future__ import annotations

from flask import render_template
from sqlalchemy import select

from domain.deliberation.decisions import public_owner
from models import Community, DecisionItem, Topic, TopicStatus
from web.resident.signin import bp, db, not_found

SHOWN = (TopicStatus.DECIDED, TopicStatus.CARRIED_OUT, TopicStatus.PUBLICISED)
MAX_ID = 2 ** 31 - 1


@bp.get("/board/<int:community_id>")
def board(community_id: int):
    community = db().get(Community, community_id) if community_id <= MAX_ID else None
    if community is None:
        return not_found()
    topics = db().scalars(select(Topic).where(Topic.community_id == community_id,
                                              Topic.status.in_(SHOWN))
                          .order_by(Topic.updated_at.desc()).limit(50)).all()
    items: dict[int, list[DecisionItem]] = {}
    for item in db().scalars(select(DecisionItem).where(DecisionItem.topic_id.in_([t.id for t in topics]))
                             .order_by(DecisionItem.id)):
        items.setdefault(item.topic_id, []).append(item)
    return render_template("resident/board.html", community=community, topics=topics, items=items,
                           public_owner=public_owner)
