"""Feature handlers, one module per capability, combined into the root router."""
from __future__ import annotations

from bot.router import Router


def build_router() -> Router:
    """The root router: every feature's handlers (a clash between features is an error)."""
    from handlers import (
        deliberation,
        handoff,
        help,
        meetings,
        platform_events,
        privacy,
        registration,
        report_status,
        report_work,
        reports,
        timebank,
        timebank_staff,
        volunteering,
    )

    root = Router()
    for module in (registration, privacy, reports, report_status, report_work, timebank_staff, meetings,
                   deliberation, volunteering, timebank, handoff, platform_events, help):
        root.include(module.router)
    return root
