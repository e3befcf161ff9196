"""五步议事 housekeeping: owners of decision items reminded before and after the due date.
The rule lives in `domain.deliberation.decisions`; here is only the transaction."""
from __future__ import annotations

from domain.deliberation import decisions


def remind_item_owners(rt) -> int:
    with rt.unit() as uow:
        return decisions.remind_owners(uow)
