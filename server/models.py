"""Imports every area's tables, so Alembic and the tests see the whole schema."""
from server.accounts.models import AuditEntry, AuthChallenge, Device, Invite, Person, Post, WebSession  # noqa: F401
from server.grid.models import GridNode, Household, PropertyCompany  # noqa: F401
from server.sync.models import Photo, SyncReceipt  # noqa: F401
from server.visits.models import ErrandStep, Visit, WorkLogEntry  # noqa: F401
from server.issues.models import Issue, IssueCategory, IssueEvent, IssueMeeting  # noqa: F401
from server.patrols.models import Patrol, PatrolAnswer, PatrolItem, PatrolTemplate, PatrolTemplateVersion  # noqa: F401
from server.registers.models import HouseholdChange, ImportJob  # noqa: F401
from server.open311.models import ApiKey  # noqa: F401
from server.notify.models import Broadcast, Notification, NotifySetting, PushSubscription, SmsOptOut  # noqa: F401
from server.boards.models import BoardProfile, PlanLayout  # noqa: F401
from server.incentives.models import AllowanceBudget, AllowanceClaim, Commendation, IncentiveRules, PayoutBatch, IssueRating, PointsAccount, PointsEntry, Redemption, RedemptionEvent, RewardItem  # noqa: F401
from server.party.models import DutyLogEntry, DutySlot, DutySwap, PartyBody, ServiceStation  # noqa: F401
from server.training.models import QuizQuestion, TrainingAttendance, TrainingMaterial, TrainingMaterialFile, TrainingSession  # noqa: F401
from server.recruit.models import Helper, Nomination  # noqa: F401
from server.tasks.models import Task, TaskAssignment, TaskReport  # noqa: F401
