"""The simulated API's error answer."""
from __future__ import annotations


class ApiError(Exception):
    """An API answer with a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(errcode, errmsg)
        self.errcode, self.errmsg = errcode, errmsg
