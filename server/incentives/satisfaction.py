"""Resident satisfaction (居民满意度): after feedback, the tracking page asks 满意 / 基本满意 / 不满意,
once per problem.

The answer feeds the leader's scorecard (scorecard.py) and, when "satisfied", their points
(ledger.works_of). The tracking page loads the question with htmx (`/track/<code>/rating`),
which also serves a whole page for a phone without JavaScript. No account, so the same
rate limit as the tracking page; once per problem is the table's primary key.
"""
from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import month_of, utcnow
from server.i18n import N_
from server.incentives import ledger
from server.incentives.models import IssueRating, Rating
from server.issues import service
from server.issues.models import Status
from server.issues.public import TRACK_RATE_LIMIT
from server.web import render

RATING_LABELS = {
    Rating.satisfied: N_("Satisfied"),
    Rating.basic: N_("Basically satisfied"),
    Rating.unsatisfied: N_("Not satisfied"),
}
RATEABLE = (Status.fed_back, Status.closed)


def may_rate(issue) -> bool:
    """Only after the residents have been given feedback."""
    return issue.status in RATEABLE and issue.feedback_count > 0


class RatingController(Controller):
    path = "/track/{code:str}/rating"
    middleware = [TRACK_RATE_LIMIT.middleware]

    @get("/", name="residents.rating")
    async def show_rating(self, request: Request, db: AsyncSession, code: str) -> Any:
        issue = await service.issue_by_tracking_code(db, code)
        rating = await db.get(IssueRating, issue.id)
        return render(request, "incentives/rating.html", partial="incentives/_rating.html", issue=issue,
                      rating=rating, may_rate=may_rate(issue), labels=RATING_LABELS,
                      back_url=f"/track/{issue.tracking_code}")

    @post("/", name="residents.rate")
    async def rate_problem(self, request: Request, db: AsyncSession, code: str) -> Any:
        issue = await service.issue_by_tracking_code(db, code)
        form = await request.form()
        value = form.get("rating") if isinstance(form.get("rating"), str) else ""
        if may_rate(issue) and value in {r.value for r in Rating} and await db.get(IssueRating, issue.id) is None:
            now = utcnow()
            db.add(IssueRating(issue_id=issue.id, rating=value, node_path=issue.node_path, month=month_of(now), rated_at=now))
            try:
                await db.flush()
                if value == Rating.satisfied.value and issue.reported_by:
                    await ledger.fold_others(db, [issue.reported_by])  # "satisfied" earns the reporter points
                await db.commit()
            except IntegrityError:  # two taps at once: the first answer stands
                await db.rollback()
        return Redirect(path=f"/track/{code}", status_code=303)


SATISFACTION_HANDLERS: list = [RatingController]
