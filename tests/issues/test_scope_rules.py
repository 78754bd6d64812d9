"""The permission rules of the ledger and the register edits, one by one, as pure functions.

Written from the mutation run on server/issues/scope.py and server/accounts/scope.py
(issue 12): a property company seeing or rectifying a problem not assigned to it, a leader
reporting at a compound outside any patrol, community staff editing their own community node
or a neighbour's, a subtree bound without its lower end — none of these made a test fail.
"""
from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from litestar.exceptions import NotFoundException, PermissionDeniedException

from server.accounts.models import Role
from server.accounts.scope import PostScope, Viewer
from server.issues.models import EventKind, Issue, Source
from server.tree import subtree_bounds
from server.issues.scope import (
    LEADER_KINDS, PROPERTY_KINDS, RESIDENT, RESIDENT_KINDS, STAFF_KINDS, actor_role, can_see, issue_scope,
    kinds_for, may_report_at, require_event, require_report_at,
)

STREET = "00000001"
COMMUNITY = STREET + "00000002"
OTHER_COMMUNITY = STREET + "00000003"
COMPOUND = COMMUNITY + "00000004"
MICROGRID = COMPOUND + "00000005"
NEIGHBOUR_MICROGRID = COMPOUND + "00000006"
LOW, HIGH = subtree_bounds(MICROGRID)


def person(*posts: PostScope) -> Viewer:
    return Viewer(1, "测试", posts)


def post(role: str, path: str, company_id: int | None = None) -> PostScope:
    return PostScope(role, 1, path, "A" if role == Role.leader else None, company_id)


def problem(path: str = MICROGRID, company_id: int | None = None) -> SimpleNamespace:
    return SimpleNamespace(node_path=path, assignee_company_id=company_id)


LEADER = person(post(Role.leader, MICROGRID))
PROPERTY = person(post(Role.property, COMPOUND, company_id=7))
SECRETARY = person(post(Role.community, COMMUNITY))


def test_a_property_company_sees_and_acts_only_on_what_is_assigned_to_it():
    assert can_see(PROPERTY, problem(company_id=7))
    assert not can_see(PROPERTY, problem(company_id=8))
    assert not can_see(PROPERTY, problem(company_id=None))
    assert actor_role(PROPERTY, problem(company_id=7)) == Role.property
    assert actor_role(PROPERTY, problem(company_id=8)) == ""
    assert actor_role(PROPERTY, problem(company_id=None)) == ""
    assert require_event(PROPERTY, problem(company_id=7), EventKind.rectify) == Role.property
    for company in (8, None):
        with pytest.raises(PermissionDeniedException):
            require_event(PROPERTY, problem(company_id=company), EventKind.rectify)


def test_each_role_records_its_own_kinds_and_nobody_else_none():
    assert kinds_for(Role.property) == PROPERTY_KINDS
    assert kinds_for(RESIDENT) == RESIDENT_KINDS
    assert kinds_for(Role.leader) == LEADER_KINDS
    assert kinds_for(Role.compound) == STAFF_KINDS
    assert kinds_for("") == frozenset()
    assert EventKind.assign not in kinds_for(Role.property) and EventKind.verify not in kinds_for(RESIDENT)
    # The resident (no account) may reopen, nothing else; the leader may not supervise.
    assert require_event(None, problem(), EventKind.reopen) == RESIDENT
    with pytest.raises(PermissionDeniedException):
        require_event(None, problem(), EventKind.close)
    assert require_event(LEADER, problem(), EventKind.verify) == Role.leader
    with pytest.raises(PermissionDeniedException):
        require_event(LEADER, problem(), EventKind.supervise)
    with pytest.raises(PermissionDeniedException):
        require_event(LEADER, problem(NEIGHBOUR_MICROGRID), EventKind.comment)


def test_a_leader_reports_at_a_wider_compound_only_from_a_patrol():
    assert may_report_at(LEADER, MICROGRID)
    assert not may_report_at(LEADER, NEIGHBOUR_MICROGRID, Source.patrol)  # not under her
    assert not may_report_at(LEADER, COMPOUND)  # wider, not on a patrol
    assert may_report_at(LEADER, COMPOUND, Source.patrol)
    assert not may_report_at(LEADER, OTHER_COMMUNITY, Source.patrol)
    assert not may_report_at(person(post(Role.property, COMPOUND, 7)), COMPOUND, Source.patrol)
    node = SimpleNamespace(path=COMPOUND)
    require_report_at(LEADER, node, Source.patrol)
    with pytest.raises(NotFoundException):
        require_report_at(LEADER, node)


def _sql(clause) -> str:
    return str(clause.compile(compile_kwargs={"literal_binds": True}))


def test_the_list_scope_is_the_subtree_or_the_company_or_both():
    both = person(post(Role.leader, MICROGRID), post(Role.property, COMPOUND, company_id=7))
    assert _sql(issue_scope(LEADER)) == f"issue.node_path >= '{LOW}' AND issue.node_path < '{HIGH}'"
    assert _sql(issue_scope(PROPERTY)) == "issue.assignee_company_id IN (7)"
    assert _sql(issue_scope(both)) == f"{_sql(issue_scope(LEADER))} OR issue.assignee_company_id IN (7)"
    column = sa.column("community_path")
    assert "community_path >=" in _sql(issue_scope(LEADER, column)) and "node_path" not in _sql(issue_scope(LEADER, column))
    assert _sql(issue_scope(person())) == "false"


def test_the_subtree_bound_has_both_ends():
    assert _sql(LEADER.subtree_clause(Issue.node_path)) == (
        f"issue.node_path >= '{LOW}' AND issue.node_path < '{HIGH}'")


def test_register_edits_follow_the_street_and_the_community():
    admin = person(post(Role.admin, STREET))
    assert admin.may_edit(STREET) and admin.may_edit(COMMUNITY)
    assert not admin.may_edit("00000009")  # another street
    assert SECRETARY.may_edit(COMPOUND)
    assert not SECRETARY.may_edit(COMMUNITY)  # her community node is the street's table
    assert not SECRETARY.may_edit(OTHER_COMMUNITY + "00000001")
    assert not LEADER.may_edit(MICROGRID)
