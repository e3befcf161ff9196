"""五步议事 housekeeping: owners of decision items reminded before and after the due date,
votes closed at their deadline. The rules live in `domain.deliberation`; here is only the
transaction."""
from __future__ import annotations

from domain.deliberation import decisions, votes


def remind_item_owners(rt) -> int:
    with rt.unit() as uow:
        return decisions.remind_owners(uow)


def close_votes(rt) -> int:
    with rt.unit() as uow:
        return votes.close_due(uow)
