"""The ledger's permission checks, in one place: who may see a problem, who may report
where, and which events a role may record on it.

Every way into the ledger asks here and nowhere else: the form routes
(server/issues/routes.py), the sync API (server/issues/sync.py, through
service.report_issue / service.record_event), the meeting pages and minutes (a
meeting lists only the problems the reader may see), and patrols (a problem found on a
patrol belongs to the compound). A form that offers an action and the API that takes
it therefore cannot disagree: both read `kinds_for`.

Outside a person's part of the grid the answer is 404 (NotFoundException); an action
their role may not take is 403 (PermissionDeniedException), as everywhere
(server/accounts/scope.py).
"""
from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from litestar.exceptions import NotFoundException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts.models import Role
from server.accounts.scope import Viewer
from server.grid.models import GridNode
from server.issues.models import EventKind, Issue, Source
from server.party.models import BRANCH_OFFICES, COMMITTEE_OFFICES, Office

STAFF_ROLES = (Role.admin, Role.community, Role.compound)
REPORT_ROLES = (*STAFF_ROLES, Role.leader)
# The monthly meetings (联动处理/分析/处置) are the community's: the street and community staff
# record them and their decisions, compound grid workers do not.
MEETING_ROLES = (Role.admin, Role.community)
RESIDENT = "resident"  # the tracking page's visitor, without an account

# Who may record which kind of event (besides the report itself). Nobody flags or
# escalates straight any more: analysis and disposal go by application (below).
LEADER_KINDS = frozenset({
    EventKind.solve_on_spot, EventKind.assign, EventKind.rectify, EventKind.verify, EventKind.send_back,
    EventKind.apply_analysis, EventKind.feedback, EventKind.close, EventKind.reopen, EventKind.comment,
})
STAFF_KINDS = LEADER_KINDS | {EventKind.supervise, EventKind.announce}
MEETING_KINDS = STAFF_KINDS
# What a Party office adds, over the problems under the post that holds it (the seed):
# the secretary or the delegate she names records the meetings' decisions and answers
# analysis applications; the committee answers the branches' disposal applications
# with a solution plan; only a grid Party branch applies for disposal.
DECIDERS = frozenset({Office.party_secretary, Office.delegate})
DECIDER_KINDS = frozenset({EventKind.decision, EventKind.accept_analysis, EventKind.decline_analysis})
COMMITTEE_KINDS = frozenset({EventKind.accept_disposal, EventKind.decline_disposal})
BRANCH_KINDS = frozenset({EventKind.apply_disposal})
PROPERTY_KINDS = frozenset({EventKind.rectify, EventKind.comment})
RESIDENT_KINDS = frozenset({EventKind.reopen})
ROLE_RANK = [Role.admin, Role.community, Role.compound, Role.leader, Role.property]


# ---------------------------------------------------------------- seeing a problem

def issue_scope(viewer: Viewer, path_column=None) -> sa.ColumnElement[bool]:
    """Problems this person may see: their grid subtree, or what is assigned to their company."""
    clauses = []
    if viewer.grid_paths:
        clauses.append(viewer.subtree_clause(Issue.node_path if path_column is None else path_column))
    if viewer.company_ids:
        clauses.append(Issue.assignee_company_id.in_(viewer.company_ids))
    if not clauses:
        return sa.false()
    return sa.or_(*clauses) if len(clauses) > 1 else clauses[0]


def can_see(viewer: Viewer, issue: Issue) -> bool:
    return viewer.sees_path(issue.node_path) or (
        issue.assignee_company_id is not None and issue.assignee_company_id in viewer.company_ids
    )


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


async def get_issue_for(db: AsyncSession, viewer: Viewer, issue_id: str) -> Issue:
    """The problem if the person may see it; 404 otherwise (we do not admit it exists)."""
    issue = await db.get(Issue, str(issue_id)) if _is_uuid(issue_id) else None
    if issue is None or not can_see(viewer, issue):
        raise NotFoundException()
    return issue


# ---------------------------------------------------------------- reporting

def may_report_at(viewer: Viewer, path: str, source: str | None = None) -> bool:
    """May this person put a problem on the ledger at the node of `path`?

    A problem found on a joint patrol belongs to the compound patrolled; the micro-grid
    leaders inside it take part in the patrol (server/patrols/queries.py can_patrol), so
    they may report at the compound itself, though it is wider than their own micro-grid.
    """
    if viewer.sees_path(path):
        return True
    return source == Source.patrol and any(
        p.role == Role.leader and p.path.startswith(path) and p.path != path for p in viewer.posts
    )


def require_report_at(viewer: Viewer, node: GridNode, source: str | None = None) -> None:
    """may_report_at, or 403 for a role that reports nowhere and 404 outside the person's part."""
    viewer.require_role(*REPORT_ROLES)
    if not may_report_at(viewer, node.path, source):
        raise NotFoundException()


# ---------------------------------------------------------------- recording events

def actor_role(viewer: Viewer, issue: Issue) -> str:
    """The strongest role the person holds over this problem ('' if none)."""
    # Property staff act through their company's assignment, never through where their post sits.
    roles = set(viewer.roles_at(issue.node_path)) - {Role.property}
    if issue.assignee_company_id is not None and issue.assignee_company_id in viewer.company_ids:
        roles.add(Role.property)
    for role in ROLE_RANK:
        if role in roles:
            return role
    return ""


def kinds_for(role: str) -> frozenset[str]:
    """The events a role may record on a problem: what the page offers and what the API takes."""
    if role in MEETING_ROLES:
        return MEETING_KINDS
    if role in STAFF_ROLES:
        return STAFF_KINDS
    if role == Role.leader:
        return LEADER_KINDS
    if role == Role.property:
        return PROPERTY_KINDS
    if role == RESIDENT:
        return RESIDENT_KINDS
    return frozenset()


def office_kinds(viewer: Viewer, path: str) -> frozenset[str]:
    """The events a person's Party offices over the node at `path` let them record."""
    offices = viewer.offices_at(path)
    kinds: set[str] = set()
    if offices & DECIDERS:
        kinds |= DECIDER_KINDS
    if offices & COMMITTEE_OFFICES:
        kinds |= COMMITTEE_KINDS
    if offices & BRANCH_OFFICES:
        kinds |= BRANCH_KINDS
    return frozenset(kinds)


def may_decide(viewer: Viewer, community_path: str) -> bool:
    """Is this person the community's secretary or her delegate (records the meetings' decisions)?"""
    return bool(viewer.offices_at(community_path) & DECIDERS)


def allowed_kinds(viewer: Viewer, issue: Issue) -> frozenset[str]:
    """What the page offers and what the API takes: the role's kinds and the offices' kinds."""
    return kinds_for(actor_role(viewer, issue)) | office_kinds(viewer, issue.node_path)


def acting_as(viewer: Viewer, issue: Issue, kind: str) -> str:
    """What the event records as the actor's role: the office for an office's kind."""
    if kind in DECIDER_KINDS:
        offices = viewer.offices_at(issue.node_path) & DECIDERS
    elif kind in COMMITTEE_KINDS:
        offices = viewer.offices_at(issue.node_path) & COMMITTEE_OFFICES
    elif kind in BRANCH_KINDS:
        offices = viewer.offices_at(issue.node_path) & BRANCH_OFFICES
    else:
        return actor_role(viewer, issue)
    return sorted(offices)[0] if offices else actor_role(viewer, issue)


def require_event(viewer: Viewer | None, issue: Issue, kind: str) -> str:
    """The one check before any event is stored (form, sync API, patrol, resident): the actor's
    role and Party offices. Returns what the event records as the actor's role.

    `viewer` None is a resident on the tracking page. Raises PermissionDeniedException.
    """
    if viewer is None:
        if kind not in kinds_for(RESIDENT):
            raise PermissionDeniedException("Your role may not do this")
        return RESIDENT
    if kind not in allowed_kinds(viewer, issue):
        raise PermissionDeniedException("Your role may not do this")
    role = acting_as(viewer, issue, kind)
    if kind == EventKind.rectify and role == Role.property and issue.assignee_company_id not in viewer.company_ids:
        raise PermissionDeniedException("Not assigned to your company")
    return role
