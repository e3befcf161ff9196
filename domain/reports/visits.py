"""Return visits (回访): staff call the resident back after a rating of 1-2, a "没解决",
or — for a sample — a report that closed without the resident's answer."""
from __future__ import annotations

import hashlib

from sqlalchemy import select

from core.config import Config
from domain.unit import Unit
from models import Report, ReturnVisit

REASONS = ("low_rating", "not_solved", "sampled")
OUTCOMES = ("satisfied", "reopened", "explained")


def sampled(config: Config, report: Report) -> bool:
    """A fixed share of auto-closed reports, chosen by their code (the same on every run)."""
    share = config.reports.return_visit_sample
    digest = int(hashlib.sha256((report.code or str(report.id)).encode()).hexdigest()[:8], 16)
    return digest % 1000 < share * 1000


def open_visit(uow: Unit, report: Report, reason: str) -> ReturnVisit:
    """One open return visit per report: a second reason joins the first."""
    open_ = uow.session.scalar(select(ReturnVisit).where(
        ReturnVisit.report_id == report.id, ReturnVisit.outcome.is_(None)))
    if open_ is not None:
        return open_
    visit = ReturnVisit(report_id=report.id, community_id=report.community_id, reason=reason,
                        created_at=uow.now)
    uow.session.add(visit)
    return visit
