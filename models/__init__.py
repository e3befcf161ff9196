"""Typed SQLAlchemy 2 models, one module per aggregate."""
from models.base import Base, utcnow
from models.community import Building, Community, Grid, GridWorker
from models.conversation import Conversation
from models.inbound import PlatformEvent, ProcessedMessage
from models.meeting import Meeting, MeetingStatus, MeetingType, Signup, SignupStatus
from models.outbox import (
                           Broadcast,
                           BroadcastStatus,
                           Channel,
                           CommunityTag,
                           DeliveryPause,
                           OutboxMessage,
                           OutboxStatus,
                           Reminder,
                           Strategy,
)
from models.platform import AccessToken, Lease
from models.report import (
                           OPEN_STATUSES,
                           Report,
                           ReportEvent,
                           ReportFollower,
                           ReportPhoto,
                           Status,
                           Tier,
)
from models.resident import Resident, ResidentRole, Role, mask_mobile
from models.staff import StaffUser
from models.timebank import (
                           Account,
                           ApplicationStatus,
                           AuditLog,
                           EntryKind,
                           LedgerEntry,
                           RecordStatus,
                           Redemption,
                           RedemptionStatus,
                           ServiceRecord,
                           VolunteerApplication,
)

__all__ = [
    "Account", "ApplicationStatus", "AuditLog", "EntryKind", "LedgerEntry", "RecordStatus",
    "Redemption", "RedemptionStatus", "ServiceRecord", "VolunteerApplication",
    "AccessToken", "Base", "Broadcast", "BroadcastStatus", "Building", "Channel", "Community",
    "CommunityTag", "Conversation", "DeliveryPause", "Grid", "GridWorker", "Lease", "Meeting",
    "MeetingStatus", "MeetingType", "Signup", "SignupStatus",
    "OPEN_STATUSES", "OutboxMessage", "OutboxStatus", "PlatformEvent", "ProcessedMessage",
    "Reminder", "Report", "ReportEvent", "ReportFollower", "ReportPhoto", "Resident",
    "ResidentRole", "Role", "StaffUser", "Status", "Strategy", "Tier", "mask_mobile", "utcnow",
]
