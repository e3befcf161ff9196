"""What a resident sends while reporting: photos, a location, words that add detail.

Each helper keeps what it can in the conversation and returns what to tell the person.
"""
from __future__ import annotations

from bot.context import Context
from bot.inbound import Incoming
from bot.understanding import POLITE, recognizer
from core.numbers import to_int
from core.texts import text
from core.words import normalise
from domain.reports import places


def place(ctx: Context) -> str:
    """Where the report is, as the resident gave it."""
    data = ctx.conversation.data
    return data.get("label") or data.get("address") or text("place_unknown")


def add_photo(ctx: Context, msg: Incoming) -> str:
    """Keep a photo (up to the limit); says which number it was."""
    if not msg.media_id:
        return text("photo_unreadable")
    photos = list(ctx.conversation.data.get("photos", []))
    limit = ctx.config.reports.max_photos
    if len(photos) >= limit:
        return text("too_many_photos", limit=limit)
    photos.append({"media_id": msg.media_id, "pic_url": msg.pic_url})
    ctx.conversation.update(photos=photos)
    return text("photo_received", n=len(photos))


def set_location(ctx: Context, msg: Incoming) -> str | None:
    """Store a WeChat location; returns a complaint when it is unreadable or outside."""
    if not msg.has_location:
        return text("location_unreadable")
    community = places.community_at(ctx.session, msg.lat, msg.lng)
    if community is None:
        return text("location_outside")
    # The building the point lies in (its outline or radius), not the resident's own.
    ctx.conversation.update(lat=msg.lat, lng=msg.lng, address=None,
                            label=msg.label or f"{msg.lat:.5f},{msg.lng:.5f}", community_id=community.id,
                            building_id=places.building_at(ctx.session, community.id, msg.lat, msg.lng))
    return None


def limit_description(ctx: Context, words: str) -> str | None:
    limit = ctx.config.reports.max_description
    return text("bad_description_long", limit=limit) if len(words) > limit else None


def add_detail(ctx: Context, msg: Incoming) -> str | None:
    """Words that answer no question of this step are more detail: appended to the description
    (None when there are none, they are only manners, or they would make it too long)."""
    extra = (msg.text or "").strip()
    if not extra or to_int(extra) is not None or len(normalise(extra)) < 2:
        return None
    guesses = recognizer(ctx.config).guess(extra)  # only manners (唔该晒, 你好): no detail
    if guesses and all(guess.intent in POLITE for guess in guesses):
        return None
    described = f"{ctx.conversation.data.get('description', '')}；{extra}"
    if limit_description(ctx, described):
        return None
    ctx.conversation.update(description=described)
    return text("detail_kept")
