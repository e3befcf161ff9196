"""Typed SQLAlchemy 2 models, one module per aggregate."""
from models.base import Base, utcnow
from models.community import Building, Community, Grid, GridWorker
from models.conversation import Conversation
from models.handoff import Handoff, HandoffMessage, HandoffStatus
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
                           SubscriptionGrant,
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
                           "OPEN_STATUSES",
                           "AccessToken",
                           "Account",
                           "ApplicationStatus",
                           "AuditLog",
                           "Base",
                           "Broadcast",
                           "BroadcastStatus",
                           "Building",
                           "Channel",
                           "Community",
                           "CommunityTag",
                           "Conversation",
                           "DeliveryPause",
                           "EntryKind",
                           "Grid",
                           "GridWorker",
                           "Handoff",
                           "HandoffMessage",
                           "HandoffStatus",
                           "Lease",
                           "LedgerEntry",
                           "Meeting",
                           "MeetingStatus",
                           "MeetingType",
                           "OutboxMessage",
                           "OutboxStatus",
                           "PlatformEvent",
                           "ProcessedMessage",
                           "RecordStatus",
                           "Redemption",
                           "RedemptionStatus",
                           "Reminder",
                           "Report",
                           "ReportEvent",
                           "ReportFollower",
                           "ReportPhoto",
                           "Resident",
                           "ResidentRole",
                           "Role",
                           "ServiceRecord",
                           "Signup",
                           "SignupStatus",
                           "StaffUser",
                           "Status",
                           "Strategy",
                           "SubscriptionGrant",
                           "Tier",
                           "VolunteerApplication",
                           "mask_mobile",
                           "utcnow",
]
