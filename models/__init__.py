"""Typed SQLAlchemy 2 models, one module per aggregate."""
from models.base import Base, utcnow
from models.community import Building, Community, Grid, GridWorker
from models.conversation import Conversation
from models.inbound import PlatformEvent, ProcessedMessage
from models.platform import AccessToken, Lease
from models.resident import Resident, ResidentRole, Role, mask_mobile
from models.staff import StaffUser

__all__ = [
    "AccessToken", "Base", "Building", "Community", "Conversation", "Grid", "GridWorker", "Lease",
    "PlatformEvent", "ProcessedMessage", "Resident", "ResidentRole", "Role", "StaffUser",
    "mask_mobile", "utcnow",
]
