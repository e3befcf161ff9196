"""Where a report is: distances, the community, building and grid a point lies in (outlines
drawn by staff as GeoJSON, or a building's point and radius), buildings named in text, and
the coarse place public output may show."""
from __future__ import annotations

import math
import re

from shapely.geometry import Point, shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.numbers import chinese_number
from core.words import normalise
from models import Building, Community, Grid, Resident

_BUILDING_WORD = re.compile(r"(号楼|号栋|栋楼|幢|號樓)")
# "三栋" is building 3; "两栋楼之间" counts buildings (两 is never a building number).
_CHINESE_BEFORE_UNIT = re.compile(r"([零一二三四五六七八九十百]+)(?=[栋座巷号单元楼层室])")


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def community_at(session: Session, lat: float, lng: float) -> Community | None:
    """The nearest community whose service area contains the point."""
    inside = []
    for community in session.scalars(select(Community).where(Community.center_lat.is_not(None))):
        away = distance_m(lat, lng, community.center_lat, community.center_lng)
        if away <= (community.radius_m or 0):
            inside.append((away, community))
    return min(inside, key=lambda t: t[0])[1] if inside else None


def _inside(outline: dict | None, lat: float, lng: float) -> bool:
    try:
        return bool(outline) and shape(outline).covers(Point(lng, lat))
    except (ValueError, TypeError, AttributeError, KeyError):  # a malformed outline is no outline
        return False


def building_at(session: Session, community_id: int | None, lat: float | None,
                lng: float | None) -> int | None:
    """The building whose outline holds the point, else the nearest whose radius does."""
    if community_id is None or lat is None or lng is None:
        return None
    near = []
    for building in session.scalars(select(Building).where(Building.community_id == community_id)):
        if _inside(building.outline, lat, lng):
            return building.id
        if building.lat is not None and building.radius_m:
            away = distance_m(lat, lng, building.lat, building.lng)
            if away <= building.radius_m:
                near.append((away, building.id))
    return min(near)[1] if near else None


def grid_at(session: Session, community_id: int | None, lat: float | None, lng: float | None) -> int | None:
    """The grid whose outline holds the point (for a place outside every building)."""
    if community_id is None or lat is None or lng is None:
        return None
    return next((g.id for g in session.scalars(select(Grid).where(Grid.community_id == community_id))
                 if _inside(g.outline, lat, lng)), None)


def address_key(words: str) -> str:
    """An address as matched: simplified, '三栋'/'3号楼'/'3幢' all written '3栋'."""
    words = normalise(words)
    words = _CHINESE_BEFORE_UNIT.sub(lambda m: str(chinese_number(m.group(1)) or m.group(1)), words)
    return _BUILDING_WORD.sub("栋", words)


def match_building(session: Session, community_id: int | None, address: str) -> int | None:
    """The community building named anywhere in the typed address ("我住3栋2单元502");
    the longest name wins, and '3栋' never matches inside '13栋'."""
    if community_id is None or not address:
        return None
    typed = address_key(address)
    best: tuple[int, int] | None = None
    for building_id, building_name in session.execute(
            select(Building.id, Building.name).where(Building.community_id == community_id)):
        name = address_key(building_name)
        pattern = (r"(?<![0-9A-Za-z])" if name[:1].isalnum() else "") + re.escape(name)
        if name and re.search(pattern, typed) and (best is None or len(name) > best[0]):
            best = (len(name), building_id)
    return best[1] if best else None


ROOM = re.compile(r"\d{3,4}(室|号|房)?$")


def household(resident: Resident) -> str:
    """One key per home: the community and the registered address when it names a room,
    else the person (an address like 3栋2单元 is a stairwell, not a home)."""
    key = re.sub(r"\s+", "", address_key(resident.address or ""))
    if key and ROOM.search(key):
        return f"h:{resident.community_id}:{re.sub(r'(室|号|房)$', '', key)}"[:80]
    return f"r:{resident.id}"
