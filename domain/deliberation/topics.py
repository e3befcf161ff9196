"""Steps one and two of 五步议事: a topic is raised (by a resident, or by staff from a 大事
report or a focal issue) and supported (附议); staff open it for opinions (征集意见) to an
audience, or decline it with a reason the proposer and supporters are told."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from core.clock import local
from core.outbox import message
from core.texts import text
from core.words import clip
from domain import audit, broadcasts
from domain.actor import Actor
from domain.errors import Refused
from domain.unit import Unit, use_case
from models import Opinion, Report, Resident, Topic, TopicStatus, TopicSupport

# 附议 stays open until the topic is decided (or declined).
OPEN_FOR_SUPPORT = (TopicStatus.PROPOSED, TopicStatus.COLLECTING, TopicStatus.SCHEDULED)
STANCES = ("agree", "disagree", "other")


def _words(uow: Unit, words: str) -> str:
    words = " ".join((words or "").split())
    limits = uow.config.deliberation
    if len(words) < limits.topic_min_chars:
        raise Refused("topic_too_short", n=limits.topic_min_chars)
    if len(words) > limits.topic_max_chars:
        raise Refused("topic_too_long", n=limits.topic_max_chars)
    return words


def _new(uow: Unit, *, community_id: int, body: str, raised_by: str, proposer_id: int | None,
         report_id: int | None = None) -> Topic:
    topic = Topic(community_id=community_id, title=clip(body, 30), body=body, raised_by=raised_by[:64],
                  proposer_id=proposer_id, report_id=report_id, status=TopicStatus.PROPOSED,
                  support_count=0, audience={"type": "community", "id": community_id},
                  created_at=uow.now, updated_at=uow.now)
    uow.session.add(topic)
    uow.session.flush()
    topic.code = f"YT{topic.id:06d}"
    return topic


@use_case
def propose(uow: Unit, resident: Resident, words: str) -> Topic:
    """A resident raises a topic (我有建议) for their community."""
    if resident.community_id is None:
        raise Refused("topic_no_community")
    return _new(uow, community_id=resident.community_id, body=_words(uow, words),
                raised_by=text("actor_resident"), proposer_id=resident.id)


@use_case
def from_report(uow: Unit, actor: Actor, report: Report) -> Topic:
    """Staff turn a 大事 report into a topic; its reporter becomes the proposer."""
    if not actor.is_staff_of(report.community_id):
        raise Refused("not_allowed")
    if uow.session.scalar(select(Topic.id).where(Topic.report_id == report.id)):
        raise Refused("topic_from_report_twice", code=report.code)
    topic = _new(uow, community_id=report.community_id, body=report.description[:500],
                 raised_by=actor.display, proposer_id=report.resident_id, report_id=report.id)
    audit.record(uow, actor, "topic_from_report", f"topic:{topic.code}", None, {"report": report.code})
    return topic


@use_case
def from_focal(uow: Unit, actor: Actor, community_id: int, category_name: str, count: int) -> Topic:
    """Staff turn a focal issue (焦点议题: a category many residents raised this week) into
    a topic for the community to deliberate."""
    if not actor.is_staff_of(community_id):
        raise Refused("not_allowed")
    body = text("focal_topic_body", category=clip(category_name, 20), n=count)
    topic = _new(uow, community_id=community_id, body=body, raised_by=actor.display, proposer_id=None)
    audit.record(uow, actor, "topic_from_focal", f"topic:{topic.code}", None,
                 {"category": category_name, "reports": count})
    return topic


@use_case
def support(uow: Unit, resident: Resident, topic: Topic) -> int:
    """附议: one per resident, not one's own, only while the topic is open; the new count."""
    if topic.community_id != resident.community_id:
        raise Refused("topic_not_found", code=topic.code)
    if topic.proposer_id == resident.id:
        raise Refused("topic_support_own", code=topic.code)
    if topic.status not in OPEN_FOR_SUPPORT:
        raise Refused("topic_closed", code=topic.code, status=text(f"topic_status_{topic.status.value}"))
    if uow.session.scalar(select(TopicSupport.id).where(TopicSupport.topic_id == topic.id,
                                                        TopicSupport.resident_id == resident.id)):
        raise Refused("topic_supported_already", code=topic.code)
    uow.session.add(TopicSupport(topic_id=topic.id, resident_id=resident.id, created_at=uow.now))
    uow.session.flush()
    uow.session.execute(update(Topic).where(Topic.id == topic.id).values(
        support_count=Topic.support_count + 1, updated_at=uow.now))
    uow.session.refresh(topic)
    return topic.support_count


def followers(uow: Unit, topic: Topic) -> list[int]:
    """The proposer and every supporter, once each."""
    ids = [topic.proposer_id] if topic.proposer_id else []
    ids += uow.session.scalars(select(TopicSupport.resident_id).where(TopicSupport.topic_id == topic.id))
    return list(dict.fromkeys(ids))


def tell_followers(uow: Unit, topic: Topic, body: str, key: str, also: set[int] = frozenset()) -> None:
    """The proposer and supporters (and `also`: a vote's voters) hear of a step."""
    payload = message(body, {"title": topic.title, "status": text(f"topic_status_{topic.status.value}"),
                             "time": uow.now, "note": clip(body, 20), "topic": topic.code})
    for resident_id in dict.fromkeys([*followers(uow, topic), *sorted(also)]):
        uow.push(resident_id, "topic_update", payload, f"topic:{topic.id}:{key}:{resident_id}")


def _staff(actor: Actor, topic: Topic) -> None:
    if not actor.is_staff_of(topic.community_id):
        raise Refused("not_allowed")


@use_case
def decline(uow: Unit, actor: Actor, topic: Topic, reason: str) -> Topic:
    _staff(actor, topic)
    reason = (reason or "").strip()
    if not reason:
        raise Refused("topic_decline_needs_reason")
    if topic.status not in OPEN_FOR_SUPPORT:
        raise Refused("topic_closed", code=topic.code, status=text(f"topic_status_{topic.status.value}"))
    before = topic.status.value
    topic.status, topic.decline_reason, topic.updated_at = TopicStatus.DECLINED, clip(reason, 200), uow.now
    tell_followers(uow, topic, text("push_topic_declined", code=topic.code, title=topic.title,
                                    reason=topic.decline_reason), "declined")
    audit.record(uow, actor, "topic_decline", f"topic:{topic.code}", {"status": before},
                 {"status": "declined", "reason": topic.decline_reason})
    return topic


# --- 征集意见 -------------------------------------------------------------------------------

@use_case
def open_opinions(uow: Unit, actor: Actor, topic: Topic, audience: dict | None = None,
                  days: int | None = None) -> Topic:
    """Ask the audience (community, grid or building) for opinions until a deadline; the
    notice goes out as a broadcast."""
    _staff(actor, topic)
    if topic.status is not TopicStatus.PROPOSED:
        raise Refused("topic_closed", code=topic.code, status=text(f"topic_status_{topic.status.value}"))
    days = days or uow.config.deliberation.opinion_days
    if not 1 <= days <= 90:
        raise Refused("topic_bad_days")
    topic.audience = audience or topic.audience
    topic.status, topic.updated_at = TopicStatus.COLLECTING, uow.now
    topic.opinions_until = uow.now + timedelta(days=days)
    broadcasts.notice(uow, actor, title=text("topic_notice_title", title=topic.title)[:64],
                      text=text("topic_opinions_notice", code=topic.code, title=topic.title,
                                # the page holds it all; the notice stays within a broadcast's length
                                body=clip(topic.body, 300),
                                until=local(uow.config, topic.opinions_until),
                                url=f"{uow.config.server.public_url}/topics/{topic.code}"),
                      audience=topic.audience)
    audit.record(uow, actor, "topic_open_opinions", f"topic:{topic.code}", {"status": "proposed"},
                 {"status": "collecting", "until": topic.opinions_until.isoformat(),
                  "audience": topic.audience})
    return topic


def in_audience(uow: Unit, topic: Topic, resident: Resident) -> bool:
    """Whether the topic's audience (community, grid, building) covers the resident: the
    same audience a broadcast reaches."""
    if resident.community_id != topic.community_id:
        return False
    covered = broadcasts.audience_query(topic.audience).where(Resident.id == resident.id)
    return uow.session.scalar(covered) is not None


@use_case
def give_opinion(uow: Unit, resident: Resident, topic: Topic, words: str,
                 stance: str | None = None) -> bool:
    """One opinion per resident, replaced if given again before the deadline; True when it
    replaced an earlier one."""
    # Collection runs to its deadline, also once the topic is on a meeting's agenda.
    if topic.status not in (TopicStatus.COLLECTING, TopicStatus.SCHEDULED) or topic.opinions_until is None:
        raise Refused("opinion_not_open", code=topic.code)
    if uow.now >= topic.opinions_until:
        raise Refused("opinion_closed", code=topic.code)
    if not in_audience(uow, topic, resident):
        raise Refused("opinion_not_audience", code=topic.code)
    words = " ".join((words or "").split())
    if not words:
        raise Refused("opinion_empty")
    if stance is not None and stance not in STANCES:
        raise Refused("opinion_empty")
    earlier = uow.session.scalar(select(Opinion).where(Opinion.topic_id == topic.id,
                                                       Opinion.resident_id == resident.id))
    if earlier is not None:
        earlier.text, earlier.stance, earlier.updated_at = clip(words, 500), stance, uow.now
        return True
    uow.session.add(Opinion(topic_id=topic.id, resident_id=resident.id, text=clip(words, 500),
                            stance=stance, created_at=uow.now, updated_at=uow.now))
    return False


def opinion_summary(uow: Unit, topic: Topic) -> dict[str, int]:
    """How many opinions, by stance (None: free words only)."""
    rows = uow.session.execute(select(Opinion.stance, func.count()).where(Opinion.topic_id == topic.id)
                               .group_by(Opinion.stance)).all()
    return {(stance or "other"): n for stance, n in rows}
