"""Training sessions (常态化培训): sign-up, attendance by a check-in code, a short quiz.

The trainer's screen shows the session's check-in code and its QR code (a link to
`/training/checkin?code=...`); a leader scans it with the phone's camera or types the six
letters. A person is checked in once per session: one `TrainingAttendance` row per
(session, person) (a unique constraint), and the check-in itself is an UPDATE that only
takes a row not yet checked in, so two taps (or two phones) cannot count twice. The quiz
is answered once, the same way. Attendance and scores feed the leader's scorecard
(server/incentives/scorecard.py).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.accounts import audit, invites
from server.accounts.auth import signed_in
from server.accounts.models import Person, Role
from server.accounts.scope import Viewer
from server.clock import CHINA, aware, utcnow
from server.grid.models import GridNode, Level
from server.i18n import N_
from server.training.models import QuizQuestion, TrainingAttendance, TrainingSession
from server.tree import COMMUNITY_LEN
from server.validate import PathId
from server.web import render, t

KEEPER_ROLES = (Role.admin, Role.community)
ATTENDEE_ROLES = (Role.admin, Role.community, Role.compound, Role.leader)
AUDIENCE_ROLES = {"": N_("Everyone"), Role.leader: N_("Micro-grid leaders"), Role.compound: N_("Grid staff"),
                  Role.community: N_("Community staff")}
# Unambiguous letters and digits (no 0/O, 1/I/L): read off a projector and typed on a phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
# Check-in opens an hour before the start and closes an hour after the end.
CHECKIN_EARLY = timedelta(hours=1)
CHECKIN_LATE = timedelta(hours=1)
MAX_OPTIONS = 4

MSG_REQUIRED = N_("Please fill this in.")
MSG_TOO_LONG = N_("This is too long.")
MSG_CHOOSE = N_("Please choose one of the options.")
MSG_WHEN = N_("Give the date and time, like 2026-12-08 and 14:30.")
MSG_MINUTES = N_("Minutes: a whole number from 10 to 600.")
MSG_CODE = N_("No session has this code. Check the six letters on the trainer's screen.")
MSG_NOT_FOR_YOU = N_("This session is not for your post or community.")
MSG_NOT_OPEN = N_("Check-in is open from an hour before the session until an hour after it ends.")
MSG_OPTIONS = N_("Give at least two answers, and mark the right one.")
MSG_QUIZ_FIRST = N_("Check in at the session first; the quiz follows.")
MSG_QUIZ_DONE = N_("You have already answered this quiz.")
MSG_QUIZ_ALL = N_("Answer every question.")


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())[:CODE_LENGTH * 2]


def _communities(viewer: Viewer) -> set[str]:
    return {p.path[:COMMUNITY_LEN] for p in viewer.posts if len(p.path) >= COMMUNITY_LEN}


def may_run(viewer: Viewer, session: TrainingSession) -> bool:
    """The street's office runs every session; community staff those of their community."""
    if viewer.is_admin:
        return True
    return any(p.role == Role.community and session.owner_path and session.owner_path.startswith(p.path)
               for p in viewer.posts)


def in_audience(viewer: Viewer, session: TrainingSession) -> bool:
    """A post of the audience's role inside the audience's community (or anywhere, for the street's)."""
    return any(p.role in ATTENDEE_ROLES and (not session.audience_role or p.role == session.audience_role)
               and (not session.audience_path or p.path.startswith(session.audience_path))
               for p in viewer.posts)


def checkin_open(session: TrainingSession, now: datetime) -> bool:
    starts = aware(session.starts_at)
    return starts - CHECKIN_EARLY <= now <= starts + timedelta(minutes=session.minutes) + CHECKIN_LATE


def _ends(session: TrainingSession) -> datetime:
    return aware(session.starts_at) + timedelta(minutes=session.minutes)


def _visible(viewer: Viewer):
    if viewer.is_admin:
        return sa.true()
    paths = sorted(_communities(viewer))
    return sa.or_(TrainingSession.audience_path.in_(["", *paths]), TrainingSession.owner_path.in_(paths))


async def get_session_for(db: AsyncSession, viewer: Viewer, session_id: int) -> TrainingSession:
    """A session for its audience and the people who run it; 404 for anyone else."""
    session = await db.get(TrainingSession, session_id)
    if session is None or not (in_audience(viewer, session) or may_run(viewer, session)):
        raise NotFoundException()
    return session


async def attendance_of(db: AsyncSession, session_id: int, person_id: int) -> TrainingAttendance | None:
    return (await db.execute(sa.select(TrainingAttendance).where(
        TrainingAttendance.session_id == session_id, TrainingAttendance.person_id == person_id))).scalar_one_or_none()


async def _row_for(db: AsyncSession, session_id: int, person_id: int) -> TrainingAttendance:
    """The person's one row for the session, made if missing (a second maker loses to the unique key)."""
    row = await attendance_of(db, session_id, person_id)
    if row is not None:
        return row
    try:
        async with db.begin_nested():
            row = TrainingAttendance(session_id=session_id, person_id=person_id)
            db.add(row)
    except IntegrityError:
        row = await attendance_of(db, session_id, person_id)
    return row


async def check_in(db: AsyncSession, session: TrainingSession, person_id: int) -> tuple[bool, datetime]:
    """Mark the person present. Returns (newly checked in, when). Once per person, whatever the race."""
    row = await _row_for(db, session.id, person_id)
    now = utcnow()
    result = await db.execute(
        sa.update(TrainingAttendance)
        .where(TrainingAttendance.id == row.id, TrainingAttendance.checked_in_at.is_(None))
        .values(checked_in_at=now).execution_options(synchronize_session=False))
    if result.rowcount == 1:
        return True, now
    await db.refresh(row)
    return False, row.checked_in_at


def _parse_when(day: str, clock: str) -> datetime | None:
    try:
        return datetime.strptime(f"{day.strip()} {clock.strip()}", "%Y-%m-%d %H:%M").replace(tzinfo=CHINA).astimezone(timezone.utc)
    except ValueError:
        return None


def _form(data) -> dict[str, str]:
    return {k: v for k, v in data.items() if isinstance(v, str)}


class TrainingSessionController(Controller):
    path = "/training"
    guards = [signed_in]

    async def _list(self, request, db, viewer, *, values=None, errors=None, status_code=200, saved=False):
        sessions = list((await db.execute(
            sa.select(TrainingSession).where(_visible(viewer))
            .order_by(TrainingSession.starts_at.desc(), TrainingSession.id.desc()).limit(60))).scalars())
        mine = {}
        if sessions:
            mine = {a.session_id: a for a in (await db.execute(sa.select(TrainingAttendance).where(
                TrainingAttendance.person_id == viewer.person_id,
                TrainingAttendance.session_id.in_([s.id for s in sessions])))).scalars()}
        now = utcnow()
        communities = []
        if viewer.has_role(*KEEPER_ROLES):
            communities = list((await db.execute(sa.select(GridNode).where(
                GridNode.level == Level.community, viewer.subtree_clause(GridNode.path)).order_by(GridNode.path))).scalars())
        return render(request, "training/sessions.html", status_code=status_code,
                      upcoming=[s for s in reversed(sessions) if _ends(s) >= now],
                      past=[s for s in sessions if _ends(s) < now],
                      mine=mine, may_add=viewer.has_role(*KEEPER_ROLES), communities=communities,
                      audience_roles=AUDIENCE_ROLES, values=values or {}, errors=errors or {}, saved=saved,
                      tab="me", back_url="/me")

    @get("/sessions", name="training.sessions")
    async def list_sessions(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*ATTENDEE_ROLES)
        return await self._list(request, db, viewer, saved=request.query_params.get("saved") == "1")

    @post("/sessions", name="training.add_session")
    async def add_session(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*KEEPER_ROLES)
        form = _form(await request.form())
        errors: dict[str, str] = {}
        values = {}
        for name, limit in (("topic", 80), ("trainer", 40), ("place", 120)):
            values[name] = form.get(name, "").strip()
            if not values[name]:
                errors[name] = MSG_REQUIRED
            elif len(values[name]) > limit:
                errors[name] = MSG_TOO_LONG
        starts_at = _parse_when(form.get("day", ""), form.get("time", ""))
        if starts_at is None:
            errors["day"] = MSG_WHEN
        minutes = form.get("minutes", "90").strip()
        if not (minutes.isascii() and minutes.isdigit() and 10 <= int(minutes) <= 600):
            errors["minutes"] = MSG_MINUTES
        role = form.get("audience_role", "")
        if role not in AUDIENCE_ROLES:
            errors["audience_role"] = MSG_CHOOSE
        # Community staff train their own community; the street anyone, or one community.
        own = sorted(p.path for p in viewer.posts if p.role == Role.community)
        audience_path = ""
        code = form.get("community", "")
        if code:
            node = (await db.execute(sa.select(GridNode).where(GridNode.code == code[:40]))).scalar_one_or_none()
            if node is None or node.level != Level.community or not viewer.sees_path(node.path):
                errors["community"] = MSG_CHOOSE
            else:
                audience_path = node.path
        elif not viewer.is_admin:
            audience_path = own[0] if own else ""
        if not viewer.is_admin and audience_path not in own:
            errors["community"] = MSG_CHOOSE
        if errors:
            return await self._list(request, db, viewer, values=form, status_code=422,
                                    errors={k: t(request, v) for k, v in errors.items()})
        session = TrainingSession(owner_path="" if viewer.is_admin else audience_path, audience_path=audience_path,
                                  audience_role=role, starts_at=starts_at, minutes=int(minutes),
                                  checkin_code=new_code(), created_by=viewer.person_id, **values)
        db.add(session)
        await db.flush()
        audit.record(db, "add_training_session", viewer=viewer, object_type="training_session",
                     object_id=session.id, request=request, topic=session.topic)
        await db.commit()
        return Redirect(path=f"/training/sessions/{session.id}", status_code=303)

    async def _page(self, request, db, viewer, session, *, errors=None, values=None, status_code=200, notice=""):
        mine = await attendance_of(db, session.id, viewer.person_id)
        questions = list((await db.execute(sa.select(QuizQuestion).where(QuizQuestion.session_id == session.id)
                                           .order_by(QuizQuestion.sort_order, QuizQuestion.id))).scalars())
        running = may_run(viewer, session)
        roll, qr, url = [], "", ""
        if running:
            roll = (await db.execute(sa.select(TrainingAttendance, Person.name)
                                     .join(Person, Person.id == TrainingAttendance.person_id)
                                     .where(TrainingAttendance.session_id == session.id)
                                     .order_by(TrainingAttendance.checked_in_at.is_(None),
                                               TrainingAttendance.checked_in_at, Person.name))).all()
            url = f"{request.app.state.settings.base_url}/training/checkin?code={session.checkin_code}"
            qr = invites.qr_svg_data_uri(url)
        return render(request, "training/session.html", status_code=status_code, s=session, mine=mine,
                      questions=questions, running=running, for_me=in_audience(viewer, session), roll=roll, qr=qr,
                      checkin_url=url, open_now=checkin_open(session, utcnow()), audience_roles=AUDIENCE_ROLES,
                      errors=errors or {}, values=values or {}, notice=notice, tab="me",
                      back_url="/training/sessions")

    @get("/sessions/{session_id:int}", name="training.session")
    async def show_session(self, request: Request, db: AsyncSession, viewer: Viewer, session_id: PathId) -> Any:
        viewer.require_role(*ATTENDEE_ROLES)
        session = await get_session_for(db, viewer, session_id)
        return await self._page(request, db, viewer, session, notice=request.query_params.get("done", ""))

    @post("/sessions/{session_id:int}/signup", name="training.sign_up")
    async def sign_up(self, request: Request, db: AsyncSession, viewer: Viewer, session_id: PathId) -> Any:
        viewer.require_role(*ATTENDEE_ROLES)
        session = await get_session_for(db, viewer, session_id)
        if not in_audience(viewer, session):
            raise PermissionDeniedException(t(request, MSG_NOT_FOR_YOU))
        row = await _row_for(db, session.id, viewer.person_id)
        if row.signed_up_at is None:
            row.signed_up_at = utcnow()
        await db.commit()
        return Redirect(path=f"/training/sessions/{session.id}?done=signed_up", status_code=303)

    @get("/checkin", name="training.checkin_form")
    async def show_checkin(self, request: Request, viewer: Viewer) -> Any:
        viewer.require_role(*ATTENDEE_ROLES)
        return render(request, "training/checkin.html", code=normalise_code(request.query_params.get("code", "")),
                      errors={}, tab="me", back_url="/training/sessions")

    @post("/checkin", name="training.check_in")
    async def check_in_with_code(self, request: Request, db: AsyncSession, viewer: Viewer) -> Any:
        viewer.require_role(*ATTENDEE_ROLES)
        code = normalise_code(_form(await request.form()).get("code", ""))
        session = (await db.execute(sa.select(TrainingSession).where(TrainingSession.checkin_code == code))
                   ).scalar_one_or_none() if len(code) == CODE_LENGTH else None
        problem = None
        if session is None:
            problem = MSG_CODE
        elif not in_audience(viewer, session):
            problem = MSG_NOT_FOR_YOU
        elif not checkin_open(session, utcnow()):
            problem = MSG_NOT_OPEN
        if problem:
            return render(request, "training/checkin.html", status_code=422, code=code,
                          errors={"code": t(request, problem)}, tab="me", back_url="/training/sessions")
        fresh, _at = await check_in(db, session, viewer.person_id)
        if fresh:
            audit.record(db, "training_check_in", viewer=viewer, object_type="training_session",
                         object_id=session.id, request=request)
        await db.commit()
        return Redirect(path=f"/training/sessions/{session.id}?done={'checked_in' if fresh else 'already'}",
                        status_code=303)

    @post("/sessions/{session_id:int}/questions", name="training.add_question")
    async def add_question(self, request: Request, db: AsyncSession, viewer: Viewer, session_id: PathId) -> Any:
        viewer.require_role(*KEEPER_ROLES)
        session = await get_session_for(db, viewer, session_id)
        if not may_run(viewer, session):
            raise PermissionDeniedException()
        form = _form(await request.form())
        errors: dict[str, str] = {}
        text = form.get("text", "").strip()
        if not text:
            errors["text"] = MSG_REQUIRED
        elif len(text) > 200:
            errors["text"] = MSG_TOO_LONG
        options, answer = [], None
        for i in range(MAX_OPTIONS):
            option = form.get(f"option_{i}", "").strip()[:80]
            if option:
                if form.get("answer") == str(i):
                    answer = len(options)
                options.append(option)
        if len(options) < 2 or answer is None:
            errors["options"] = MSG_OPTIONS
        if errors:
            return await self._page(request, db, viewer, session, status_code=422, values=form,
                                    errors={k: t(request, v) for k, v in errors.items()})
        count = (await db.execute(sa.select(sa.func.count()).select_from(QuizQuestion)
                                  .where(QuizQuestion.session_id == session.id))).scalar_one()
        db.add(QuizQuestion(session_id=session.id, sort_order=count + 1, text=text, options=options, answer=answer))
        audit.record(db, "add_quiz_question", viewer=viewer, object_type="training_session", object_id=session.id,
                     request=request, text=text)
        await db.commit()
        return Redirect(path=f"/training/sessions/{session.id}#quiz", status_code=303)

    @post("/sessions/{session_id:int}/quiz", name="training.answer_quiz")
    async def answer_quiz(self, request: Request, db: AsyncSession, viewer: Viewer, session_id: PathId) -> Any:
        viewer.require_role(*ATTENDEE_ROLES)
        session = await get_session_for(db, viewer, session_id)
        mine = await attendance_of(db, session.id, viewer.person_id)
        form = _form(await request.form())
        questions = list((await db.execute(sa.select(QuizQuestion).where(QuizQuestion.session_id == session.id)
                                           .order_by(QuizQuestion.sort_order, QuizQuestion.id))).scalars())
        problem = None
        if mine is None or mine.checked_in_at is None:
            problem = MSG_QUIZ_FIRST
        elif mine.quiz_at is not None:
            problem = MSG_QUIZ_DONE
        elif not questions or any(not form.get(f"q-{q.id}") for q in questions):
            problem = MSG_QUIZ_ALL
        if problem:
            return await self._page(request, db, viewer, session, status_code=422, values=form,
                                    errors={"quiz": t(request, problem)})
        score = sum(form.get(f"q-{q.id}") == str(q.answer) for q in questions)
        result = await db.execute(
            sa.update(TrainingAttendance)
            .where(TrainingAttendance.id == mine.id, TrainingAttendance.quiz_at.is_(None))
            .values(quiz_score=score, quiz_total=len(questions), quiz_at=utcnow())
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            await db.rollback()
            return await self._page(request, db, viewer, session, status_code=422,
                                    errors={"quiz": t(request, MSG_QUIZ_DONE)})
        await db.commit()
        return Redirect(path=f"/training/sessions/{session.id}?done=quiz#quiz", status_code=303)


SESSION_HANDLERS = [TrainingSessionController]
