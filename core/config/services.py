"""The community-service sections of the configuration: reports (三事分流), the time bank,
meetings, and how residents reach people (contact points, office hours).
"""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from core.config.sections import Section

TierName = Literal["big", "small", "private"]
# 时间储蓄 verification: the person served confirms, staff review, or both must.
Verification = Literal["beneficiary", "staff", "both"]


class SLA(Section):
    accept_hours: float = Field(gt=0)
    resolve_hours: float = Field(gt=0)
    # Counted in working hours on working days (the default), or in calendar hours.
    working: bool = True


class WorkingHours(Section):
    """The work-order clock's day: working days from chinesecalendar, these hours."""

    opens: str = Field("08:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    closes: str = Field("17:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # For a year chinesecalendar does not know yet: the official holidays and the
    # adjusted working days (调休), as the State Council publishes them.
    holidays: list[date] = []
    workdays: list[date] = []


class CategoryConfig(Section):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    name: str = Field(min_length=1, max_length=32)
    tier: TierName
    keywords: list[str] = []
    accept_hours: float | None = Field(None, gt=0)
    resolve_hours: float | None = Field(None, gt=0)
    working: bool | None = None  # None: as the tier's SLA
    advice: str | None = None
    # Shown in the public Open311 feed (private matters never are).
    public: bool = True


class ReportsConfig(Section):
    max_description: int = Field(500, ge=10, le=2000)
    max_photos: int = Field(9, ge=0, le=9)
    duplicate_radius_m: float = Field(100, ge=0)
    duplicate_days: int = Field(7, ge=0)
    feedback_days: int = Field(7, ge=1)
    sla: dict[TierName, SLA] = {"big": SLA(accept_hours=24, resolve_hours=168),
                                "small": SLA(accept_hours=12, resolve_hours=72),
                                "private": SLA(accept_hours=24, resolve_hours=48)}
    categories: list[CategoryConfig] = Field(min_length=1)
    clock: WorkingHours = WorkingHours()
    # The assignee is warned (临期预警) when this share of the window has passed.
    warn_share: float = Field(0.75, gt=0, lt=1)
    # Whether a grid worker may confirm or change the tier of a report in their grid.
    grid_worker_triage: bool = False
    # Share of reports closed without the resident's answer that staff call back (回访).
    return_visit_sample: float = Field(0.1, ge=0, le=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> ReportsConfig:
        codes = [c.code for c in self.categories]
        if len(codes) != len(set(codes)):
            raise ValueError("categories: codes must be unique")
        if set(self.sla) != {"big", "small", "private"}:
            raise ValueError("sla: give accept_hours/resolve_hours for big, small and private")
        return self


class CatalogueItem(Section):
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=32)
    hours: float = Field(gt=0, le=100)


class TimebankConfig(Section):
    service_types: list[str] = Field(min_length=1)
    granularity_minutes: int = Field(30, ge=1, le=60)
    daily_max_hours: float = Field(12, gt=0, le=24)
    max_back_days: int = Field(30, ge=0)
    balance_cap_hours: float = Field(1500, gt=0)
    transfer_max_hours: float = Field(100, gt=0)
    reminder_after_days: int = Field(3, ge=1)
    milestones_hours: list[int] = [50, 100, 500]
    expiry_months: int = Field(0, ge=0)
    # What hours can buy, per community name ("default" for the rest).
    catalogue: dict[str, list[CatalogueItem]] = {}
    # Who must verify a record before its hours count, per community name ("default").
    verification: dict[str, Verification] = {"default": "both"}
    # More records than this between the same two people within the window are flagged.
    pair_max: int = Field(8, ge=1)
    pair_window_days: int = Field(30, ge=1)
    # A transfer to a family member not accepted within this many days goes back.
    transfer_accept_days: int = Field(7, ge=1, le=90)
    # The service type of hours proposed from a volunteer activity's check-in.
    activity_service_type: str = "志愿活动"

    @model_validator(mode="after")
    def _activity_type_offered(self):
        if self.activity_service_type not in self.service_types:
            raise ValueError(f"activity_service_type {self.activity_service_type!r} is not in service_types")
        return self

    @property
    def cap_minutes(self) -> int:
        return int(self.balance_cap_hours * 60)

    def verification_for(self, community_name: str) -> Verification:
        return self.verification.get(community_name) or self.verification.get("default") or "both"

    def catalogue_for(self, community_name: str) -> list[CatalogueItem]:
        return list(self.catalogue.get(community_name) or self.catalogue.get("default") or [])


class MeetingsConfig(Section):
    reminder_hours: dict[str, list[float]] = {"default": [24, 1]}

    def reminders_for(self, meeting_type: str) -> list[float]:
        return self.reminder_hours.get(meeting_type, self.reminder_hours.get("default", [24, 1]))


class DeliberationConfig(Section):
    """五步议事: how long a topic may be, how long opinions are collected, when owners of
    decision items are reminded."""

    topic_min_chars: int = Field(6, ge=1)
    topic_max_chars: int = Field(500, le=500)
    opinion_days: int = Field(7, ge=1, le=90)
    remind_days_before: int = Field(2, ge=0, le=30)
    # 表决: share of the electorate that must vote, per meeting type ("default" for the
    # rest and for household votes without a meeting), and the share of votes cast the
    # winning option needs more than.
    quorum: dict[str, float] = {"joint": 2 / 3, "council": 0.5, "default": 0.5}
    majority: float = Field(0.5, ge=0.5, lt=1)
    max_vote_days: int = Field(30, ge=1, le=90)

    def quorum_for(self, meeting_type: str | None) -> float:
        return self.quorum.get(meeting_type or "default", self.quorum.get("default", 0.5))


class ContactPoint(Section):
    """How residents reach a community's people: phone, office and office hours."""

    phone: str = Field(min_length=3, max_length=32)
    office: str = Field(min_length=1, max_length=64)
    # Staff answer chats (人工服务) on working days (Chinese public holidays and the adjusted
    # working days count) between these local times.
    opens: str = Field("09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    closes: str = Field("18:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # Within office hours, how long a resident may wait for an answer.
    answer_within_minutes: int = Field(30, ge=1, le=1440)

    @property
    def hours_text(self) -> str:
        return f"工作日 {self.opens}-{self.closes}"


class ContactConfig(Section):
    default: ContactPoint = ContactPoint(phone="12345", office="社区党群服务中心")
    # Per community name; missing keys fall back to `default`.
    communities: dict[str, ContactPoint] = {}

    def for_community(self, name: str | None) -> ContactPoint:
        return self.communities.get(name or "", self.default)
