"""Feature handlers, one module per capability, combined into the root router."""
from __future__ import annotations

from bot.router import Router


def build_router() -> Router:
    """The root router: feature routers in the order they take precedence."""
    from handlers import (help, meetings, platform_events, registration, report_status,
                          report_work, reports, timebank, timebank_staff, volunteering)

    root = Router()
    # timebank_staff before report_work: its 驳回 hands report codes on to report_work.
    for module in (registration, reports, report_status, timebank_staff, report_work, meetings,
                   volunteering, timebank, platform_events, help):
        root.include(module.router)
    return root
