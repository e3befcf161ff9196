"""Communities (社区/村), their grids (网格) and buildings (楼栋)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, JSONType, created, intpk


class Community(Base):
    __tablename__ = "communities"

    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(64), unique=True)
    district: Mapped[str] = mapped_column(String(64), default="")
    # Scene code printed in the community's follow QR code (qrscene_<code>).
    scene_code: Mapped[str] = mapped_column(String(64), unique=True)
    # Service area, as a centre and radius: places a reported location in a community.
    center_lat: Mapped[float | None] = mapped_column(Float)
    center_lng: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[created]

    grids: Mapped[list["Grid"]] = relationship(back_populates="community", order_by="Grid.id")
    buildings: Mapped[list["Building"]] = relationship(back_populates="community",
                                                       order_by="Building.id")


class Grid(Base):
    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # The grid's outline as GeoJSON (a Polygon or MultiPolygon, lng/lat), drawn by staff.
    outline: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[created]

    community: Mapped[Community] = relationship(back_populates="grids")


class Building(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[intpk]
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    # Where the building is: an outline (GeoJSON Polygon), or a point and a radius.
    outline: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[created]

    community: Mapped[Community] = relationship(back_populates="buildings")


class GridWorker(Base):
    """A grid worker (网格员) in charge of a grid; a grid may have several."""

    __tablename__ = "grid_workers"
    __table_args__ = (UniqueConstraint("grid_id", "resident_id"),)

    id: Mapped[intpk]
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    # Shown to residents instead of a name or phone, e.g. "金宁一网格 网格员".
    title: Mapped[str] = mapped_column(String(64))
