"""Where grids and buildings are: outlines staff draw (in any GeoJSON editor) and import.

A FeatureCollection whose features name a community and a grid or a building in their
properties: a Polygon/MultiPolygon becomes the outline; a building may instead be a Point
with `radius_m`. Every feature is checked before anything is written.
"""
from __future__ import annotations

from shapely.errors import GEOSException
from shapely.geometry import shape
from sqlalchemy import select

from domain import audit
from domain.actor import Actor
from domain.errors import Refused
from domain.unit import Unit, use_case
from models import Building, Community, Grid

AREAS = ("Polygon", "MultiPolygon")
MAX_RADIUS_M = 500


def _geometry(feature: dict, number: int) -> dict:
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    try:
        parsed = shape(geometry)
    except (GEOSException, ValueError, TypeError, AttributeError, KeyError, IndexError):
        raise Refused("geo_bad_feature", n=number) from None
    if parsed.is_empty or not parsed.is_valid:
        raise Refused("geo_bad_feature", n=number)
    return geometry


def _target(uow: Unit, props: dict, number: int) -> Grid | Building:
    community = uow.session.scalar(select(Community).where(Community.name == props.get("community")))
    model, name = (Grid, props["grid"]) if props.get("grid") else (Building, props.get("building"))
    found = community and name and uow.session.scalar(select(model).where(
        model.community_id == community.id, model.name == name))
    if not found:
        raise Refused("geo_unknown_place", n=number, name=name or props.get("community") or "?")
    return found


@use_case
def import_outlines(uow: Unit, actor: Actor, collection: dict) -> dict[str, int]:
    """Set the outlines (and building points) a FeatureCollection gives; returns counts."""
    features = collection.get("features") if isinstance(collection, dict) else None
    if not isinstance(features, list) or not features:
        raise Refused("geo_no_features")
    counts = {"grids": 0, "buildings": 0}
    for number, feature in enumerate(features, start=1):
        geometry = _geometry(feature, number)
        props = feature.get("properties") or {}
        place = _target(uow, props, number)
        if not actor.is_staff_of(place.community_id):
            raise Refused("not_allowed")
        if geometry["type"] in AREAS:
            place.outline = geometry
        elif geometry["type"] == "Point" and isinstance(place, Building):
            radius = props.get("radius_m")
            if not isinstance(radius, (int, float)) or not 0 < radius <= MAX_RADIUS_M:
                raise Refused("geo_bad_radius", n=number, limit=MAX_RADIUS_M)
            place.lng, place.lat = geometry["coordinates"][:2]
            place.radius_m = int(radius)
        else:
            raise Refused("geo_bad_feature", n=number)
        counts["grids" if isinstance(place, Grid) else "buildings"] += 1
    audit.record(uow, actor, "places_import", "places", after=counts)
    return counts
