"""Every model, importable from one place (Alembic and the services read them from here)."""
from server.models.access import AccessChange, AccessChangeKind
from server.models.activity import ActivityElectorate, ActivityRollup, ActivitySeat, RollupCursor, RollupDirty
from server.models.assignment import Assignment, AssignmentItem, AssignmentKind, AssignmentUser
from server.models.audit import AuditEvent, AuditSubject
from server.models.campaign import (
    Campaign,
    CampaignCode,
    CampaignKind,
    CodeSet,
    OutcomeMeaning,
    QuestionKind,
    SurveyQuestion,
)
from server.models.contact import Channel, ContactRecord, ImportBatch, RecordKind, RecordSource
from server.models.geography import Constituency, ConstituencyProfile, PollingDistrict, Property, Region, Ward
from server.models.people import (
    CLP_ROLES,
    Device,
    LoginAttempt,
    LoginThrottle,
    Member,
    MemberStatus,
    Notice,
    Revocation,
    Role,
    RoleGrant,
    User,
)
from server.models.jobs import JobRun, SchedulerLease
from server.models.push import PushSubscription
from server.models.recognition import Milestone
from server.models.register import FRANCHISE_MARKERS, Elector, ElectorStatus, RegisterEdition
from server.models.sync import (
    DeviceHolding,
    DeviceStorage,
    ElectorState,
    ElectorUpdate,
    PullSnapshotChunk,
    ReconcileQueue,
    ReviewItem,
    SyncReceipt,
)
from server.models.suppression import Suppression, SuppressionChannel, SuppressionKind
from server.models.imports import ImportFile, ImportJob, ImportMapping

__all__ = [name for name in dir() if not name.startswith("_")]
